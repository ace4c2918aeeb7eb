"""Conversation-level actions: policy FAQ answers from the database, handing the
conversation to a person (the shopper asked, or the two-stage fallback gave up),
promotions, the fallback's "Did you mean …?" and leaving a form."""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActionExecuted, ActiveLoop, EventType, SlotSet, UserUtteranceReverted
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import slots as S
from actions.analytics_marks import answer_marks
from actions.intent_labels import INTENT_LABELS
from actions.reply_text import utter_cards
from actions.runtime import ServiceUnavailable, call_service
from shop.handoff.gate import request_handoff
from shop.handoff.handoff_config import HandoffConfigError, load_config
from shop.promo.copy import promo_message
from shop.promo.service import personal_offer, policy_config
from shop.services import product_answers
from shop.services.fallback import PRODUCT_QUESTION_INTENT, ProductReading, product_reading
from shop.services.intent_judge import judge_intent
from shop.services.llm import get_llm_runner
from shop.services.llm_voice import get_shop_voice
from shop.services.policies import faq_answer, get_policy
from shop.services.policy_questions import asks_about_policy, policy_topics, unknown_policy_buttons
from shop.services.promotions import sale_products
from shop.settings import get_settings

FAQ_PREFIX = "faq/"
FAQ_INTENT = "faq"
PROMOTIONS_TOPIC = "promotions"
logger = logging.getLogger(__name__)


def faq_key(tracker: Tracker) -> str | None:
    """The policy key the response selector picked (``"faq/shipping_cost"`` ->
    ``"shipping_cost"``), or ``None``."""
    selector = (tracker.latest_message.get("response_selector") or {}).get("faq") or {}
    key = ((selector.get("response") or {}).get("intent_response_key")) or ""
    return key[len(FAQ_PREFIX):] if key.startswith(FAQ_PREFIX) else None


async def _utter_policy(dispatcher: CollectingDispatcher, key: str | None) -> bool:
    if not key:
        return False
    try:
        policy = await call_service(get_policy, key=key)
    except ServiceUnavailable:
        dispatcher.utter_message(response="utter_service_unavailable")
        return True
    if policy is None:
        return False
    dispatcher.utter_message(text=policy.text)
    return True


class ActionAnswerFaq(Action):
    """Answer a shipping/returns/payment question with the policy text in the DB. When
    the response selector's pick has no policy (``faq/other_policy``), or the question's
    words name a topic that policy isn't about (see
    :func:`shop.services.policies.faq_answer`): "I don't know that one — a person from
    our team can tell you." with a button to a person, never a guessed policy."""

    def name(self) -> str:
        return "action_answer_faq"

    @staticmethod
    def _confidence(tracker: Tracker) -> float | None:
        selector = (tracker.latest_message.get("response_selector") or {}).get("faq") or {}
        value = (selector.get("response") or {}).get("confidence")
        return float(value) if isinstance(value, (int, float)) else None

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        try:
            policy = await call_service(faq_answer, key=faq_key(tracker), confidence=self._confidence(tracker),
                                        text=S.latest_text(tracker))
        except ServiceUnavailable:
            dispatcher.utter_message(response="utter_service_unavailable")
            return []
        if policy is not None:
            dispatcher.utter_message(text=policy.text)
            return []
        dispatcher.utter_message(response="utter_faq_unknown", buttons=unknown_policy_buttons())
        return []


HISTORY_LIMIT = 20


def recent_texts(tracker: Tracker, *, limit: int = HISTORY_LIMIT) -> list[dict[str, Any]]:
    """The conversation's last ``limit`` user/bot texts, oldest first, as the handoff
    transcript takes them: ``[{"author": "shopper" | "bot", "text", "at": epoch s}]``."""
    out = []
    for event in tracker.events:
        kind, text = event.get("event"), event.get("text")
        if kind in ("user", "bot") and isinstance(text, str) and text.strip():
            out.append({"author": "shopper" if kind == "user" else "bot", "text": text,
                        "at": event.get("timestamp")})
    return out[-limit:]


async def start_handoff_from_dialogue(dispatcher: CollectingDispatcher, tracker: Tracker, *, reason: str) -> bool:
    """Open a handoff for this conversation (``reason`` ``request`` or ``fallback``) and
    utter the queue notice. ``False`` when the trigger is switched off in the handoff
    configuration or the handoff state cannot be reached (the caller answers as before)."""
    try:
        config = load_config(get_settings().handoff_config)
    except HandoffConfigError as exc:
        logger.error("handoff off: %s", exc)
        return False
    if not (config.request if reason == "request" else config.fallback):
        return False
    try:
        started = await call_service(
            request_handoff, sender_id=tracker.sender_id, channel=tracker.get_latest_input_channel() or "rest",
            reason=reason, team=config.default_team, config=config,
            now=datetime.now(timezone.utc).replace(tzinfo=None), history=recent_texts(tracker),
            customer_id=S.customer_id(tracker))
    except ServiceUnavailable:
        return False
    dispatcher.utter_message(text=started.notice)
    return True


class ActionRequestHuman(Action):
    """The shopper asked for a person: open a handoff (team ``default_team``) and tell
    them about the queue, or, with nobody online, how to leave a message. With the
    ``request`` trigger switched off (or the handoff state unreachable): how to reach
    the team (the ``contact_support`` policy)."""

    def name(self) -> str:
        return "action_request_human"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        if await start_handoff_from_dialogue(dispatcher, tracker, reason="request"):
            return []
        if not await _utter_policy(dispatcher, "contact_support"):
            dispatcher.utter_message(response="utter_human_unavailable")
        return []


TWO_STAGE_FALLBACK = "action_two_stage_fallback"


class ActionDefaultFallback(Action):
    """Rasa's fallback. When the two-stage fallback gave up (the shopper was not
    understood twice; its loop is still the active one when Rasa calls this), the
    conversation goes to a person (reason ``fallback``). Otherwise (the core fallback:
    the dialogue policies were unsure what to do next, which is not the shopper's
    doing), or with the ``fallback`` trigger switched off: Rasa's own behaviour,
    ``utter_default``. Either way the message is taken back, as Rasa's action does."""

    def name(self) -> str:
        return "action_default_fallback"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        gave_up = (tracker.active_loop or {}).get("name") == TWO_STAGE_FALLBACK
        if not (gave_up and await start_handoff_from_dialogue(dispatcher, tracker, reason="fallback")):
            dispatcher.utter_message(response="utter_default")
        return [UserUtteranceReverted()]


class ActionPromoInquiry(Action):
    """A signed-in customer may get a personal offer (the promo engine decides; the
    LLM words it, checked against the terms); everyone gets the sale items from the
    catalog. Never an invented code. A question about another policy ("do you price
    match?") goes to the FAQ answer, which says so when the shop has no such policy."""

    def name(self) -> str:
        return "action_promo_inquiry"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        topics = policy_topics(S.latest_text(tracker))
        if topics and PROMOTIONS_TOPIC not in topics:
            return await ActionAnswerFaq().run(dispatcher, tracker, domain)
        customer = S.customer_id(tracker)
        if customer is not None and await _personal_offer(dispatcher, customer):
            return []
        await _utter_policy(dispatcher, "promotions")
        try:
            cards = await call_service(sale_products, limit=5)
        except ServiceUnavailable:
            return []
        if cards:
            utter_cards(dispatcher, [c.as_payload() for c in cards],
                        heading="A few of our biggest markdowns right now:",
                        lines=[f"{i}. {c.one_line()}" for i, c in enumerate(cards, start=1)])
            return [SlotSet(S.LAST_RESULTS, [c.id for c in cards]), SlotSet(S.LAST_SEARCH, None)]
        return []


async def _personal_offer(dispatcher: CollectingDispatcher, customer_id: int) -> bool:
    """Utter the customer's personal offer when the policy gives one; ``False`` when not."""
    settings = get_settings()
    try:
        offer = await call_service(personal_offer, customer_id=customer_id,
                                   now=datetime.now(timezone.utc).replace(tzinfo=None),
                                   config=policy_config(settings))
    except ServiceUnavailable:
        return False
    if offer.facts is None:
        return False
    message = await promo_message(offer.facts, runner=get_llm_runner(), voice=get_shop_voice())
    dispatcher.utter_message(text=message.text, analytics=answer_marks(message.source))
    dispatcher.utter_message(json_message={
        "type": "promo_code", "code": offer.facts.code, "discount": offer.facts.terms.discount,
        "applies_to": offer.facts.terms.applies_to, "expires": offer.facts.expires,
    })
    return True


def _read_as(tracker: Tracker, reading: ProductReading) -> list[EventType]:
    """Events that take the latest message back and say it again as ``reading.intent``
    at full confidence, with its entities, metadata and message id kept: the same
    clarification Rasa's two-stage fallback makes when the shopper says "yes", so the
    usual rules then answer it."""
    latest = dict(tracker.latest_message or {})
    intent = {"name": reading.intent, "confidence": 1.0}
    parse_data = {**latest, "intent": intent, "intent_ranking": [intent]}
    return [
        ActiveLoop(None),
        UserUtteranceReverted(),
        ActionExecuted("action_listen"),
        {
            "event": "user",
            "timestamp": None,
            "text": latest.get("text"),
            "parse_data": parse_data,
            "input_channel": tracker.get_latest_input_channel(),
            "message_id": latest.get("message_id"),
            "metadata": latest.get("metadata") or {},
        },
    ]


class ActionDefaultAskAffirmation(Action):
    """First stage of the two-stage fallback. A message that names something in the
    catalog (a SKU, a product's title, or a category/brand while the best guess is a
    product intent; see :func:`shop.services.fallback.product_reading`) is read as a
    search straight away. Otherwise, unless a form waits for an answer, the LLM may pick
    one of the model's top intents (:func:`shop.services.intent_judge.judge_intent`) and
    the message is read as that. Anything else gets "Did you mean …?" in plain words."""

    def name(self) -> str:
        return "action_default_ask_affirmation"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        ranking = [
            r for r in (tracker.latest_message.get("intent_ranking") or [])
            if r.get("name") not in (None, "nlu_fallback", "out_of_scope")
        ]
        top = ranking[0]["name"] if ranking else None
        loop = (tracker.active_loop or {}).get("name")
        form_active = bool(loop) and loop != "action_two_stage_fallback"
        if not form_active and tracker.get_slot(S.LAST_RESULTS) and \
                product_answers.question_about_shown(S.latest_text(tracker)):
            # "will the second ones keep my feet dry?" right after a search: ask no question back
            return _read_as(tracker, ProductReading(PRODUCT_QUESTION_INTENT, "shown product"))
        if not form_active and asks_about_policy(S.latest_text(tracker)):
            # "do you price match?": the FAQ answers it, or says it doesn't know and offers a person
            return _read_as(tracker, ProductReading(FAQ_INTENT, "policy question"))
        try:
            reading = await call_service(
                product_reading, text=S.latest_text(tracker), best_guess=top,
                form_active=form_active,
            )
        except ServiceUnavailable:
            reading = None
        if reading is not None:
            return _read_as(tracker, reading)
        chosen = None if form_active else await _second_opinion(tracker)
        if chosen is not None:
            return _read_as(tracker, ProductReading(chosen, "llm second opinion"))
        if top is None or top not in INTENT_LABELS:
            dispatcher.utter_message(response="utter_ask_rephrase")
            return []
        dispatcher.utter_message(
            response="utter_ask_affirmation",
            intent_label=INTENT_LABELS[top],
            buttons=[
                {"title": "Yes", "payload": f"/{top}"},
                {"title": "No, something else", "payload": "/out_of_scope"},
            ],
        )
        return []


async def _second_opinion(tracker: Tracker) -> str | None:
    """The intent the LLM picks for the latest message among the NLU model's top
    candidates, or ``None`` (judge switched off, LLM off or too slow, "none of these")."""
    settings = get_settings()
    if not settings.intent_judge:
        return None
    judgement = await judge_intent(
        text=S.latest_text(tracker), ranking=tracker.latest_message.get("intent_ranking") or [],
        runner=get_llm_runner(), limit=settings.intent_judge_candidates, timeout_s=settings.intent_judge_timeout_s)
    return judgement.intent


FORM_SLOTS = (S.ORDER_NUMBER, S.ORDER_EMAIL, S.CONFIRM_CANCEL, S.NEW_ADDRESS,
              S.RETURN_ITEM, S.RETURN_REASON, S.RETURN_REFUSAL)


class ActionStopForm(Action):
    """Leave whatever form is active and forget its unfinished answers (the
    verified order and the failure count stay)."""

    def name(self) -> str:
        return "action_stop_form"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        dispatcher.utter_message(response="utter_stopped")
        keep_verified = S.verified_pair(tracker) is not None
        events: list[EventType] = [ActiveLoop(None), SlotSet("requested_slot", None)]
        for name in FORM_SLOTS:
            if keep_verified and name in (S.ORDER_NUMBER, S.ORDER_EMAIL):
                continue
            events.append(SlotSet(name, None))
        return events

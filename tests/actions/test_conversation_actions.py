"""Conversation-level actions (actions/conversation.py) on tracker JSON against the demo
shop: policy answers from the database, handing over to a person, promotions (a
personal code the database issued, or the sale items), the fallback's "Did you mean …?"
and leaving a form."""

from __future__ import annotations

import time

from sqlalchemy import select

from actions import slots as S
from actions.conversation import (
    ActionAnswerFaq,
    ActionDefaultAskAffirmation,
    ActionDefaultFallback,
    ActionPromoInquiry,
    ActionRequestHuman,
    ActionStopForm,
)
from shop.db.schema import Customer, Handoff, HandoffMessage, OfferCode, Product
from shop.services.policies import get_policy
from shop.services.promotions import sale_products
from tests.actions.conftest import DemoShop
from tests.actions.trackers import build_tracker, faq_selector, run_action

COVERED = (ActionAnswerFaq, ActionRequestHuman, ActionDefaultFallback, ActionPromoInquiry,
           ActionDefaultAskAffirmation, ActionStopForm)
REVERTED = {"event": "rewind"}


def policy_text(shop: DemoShop, key: str) -> str:
    with shop.session() as s:
        policy = get_policy(s, key=key)
        assert policy is not None, key
        return policy.text


async def test_faq_answers_with_the_policy_in_the_db(shop: DemoShop, domain: dict) -> None:
    for key in ("shipping_cost", "returns_window"):
        out = await run_action(ActionAnswerFaq(), build_tracker(
            text="how much is shipping?", intent="faq", response_selector=faq_selector(key)), domain)
        assert out.texts == [policy_text(shop, key)] and out.events == []


async def test_faq_without_a_known_policy(shop: DemoShop, domain: dict) -> None:
    for selector in (faq_selector("no_such_policy"), faq_selector("../../etc/passwd"),
                     {"faq": {"response": {"intent_response_key": "chitchat/ask_weather"}}}, {}, None):
        out = await run_action(ActionAnswerFaq(), build_tracker(
            text="what about it?", intent="faq", response_selector=selector), domain)
        assert out.responses == ["utter_faq_unknown"], selector


async def test_request_human_opens_a_handoff_for_the_signed_in_persona(shop: DemoShop, domain: dict) -> None:
    shop.use_handoff(request=True)
    tracker = build_tracker(text="I want to talk to a person", intent="request_human", sender_id="human-1",
                            channel="socketio", customer_id=shop.customer_id,
                            history=[("user", "waterproof boots"), ("bot", "Here are 1–5 of 10:")])
    out = await run_action(ActionRequestHuman(), tracker, domain)
    assert out.events == [] and out.responses == [None]
    with shop.session() as s:
        handoff = s.scalar(select(Handoff).where(Handoff.sender_id == "human-1"))
        assert (handoff.reason, handoff.channel, handoff.team, handoff.customer_id) == \
            ("request", "socketio", "support", shop.customer_id)
        copied = [(m.author, m.text) for m in s.scalars(select(HandoffMessage).where(
            HandoffMessage.handoff_id == handoff.id).order_by(HandoffMessage.id))]
    assert copied[:3] == [("shopper", "waterproof boots"), ("bot", "Here are 1–5 of 10:"),
                          ("shopper", "I want to talk to a person")]
    assert out.texts[0] and "our team" in out.texts[0].lower()


async def test_request_human_switched_off_points_to_contact_policy(shop: DemoShop, domain: dict) -> None:
    shop.use_handoff(request=False)
    out = await run_action(ActionRequestHuman(), build_tracker(
        text="human please", intent="request_human", sender_id="human-2"), domain)
    assert out.texts == [policy_text(shop, "contact_support")]
    with shop.session() as s:
        assert s.scalar(select(Handoff.id)) is None


async def test_fallback_hands_over_only_when_the_two_stage_fallback_gave_up(shop: DemoShop, domain: dict) -> None:
    shop.use_handoff(fallback=True)
    out = await run_action(ActionDefaultFallback(), build_tracker(
        text="blorp wibble", intent="nlu_fallback", sender_id="fb-1", active_loop="action_two_stage_fallback",
        customer_id="not-a-number"), domain)
    assert [e["event"] for e in out.events] == ["rewind"] and "utter_default" not in out.responses
    with shop.session() as s:
        handoff = s.scalar(select(Handoff).where(Handoff.sender_id == "fb-1"))
        assert (handoff.reason, handoff.customer_id) == ("fallback", None)  # a forged id is nobody
    out = await run_action(ActionDefaultFallback(), build_tracker(
        text="ok", intent="affirm", sender_id="fb-2"), domain)
    assert out.responses == ["utter_default"] and [e["event"] for e in out.events] == ["rewind"]
    with shop.session() as s:
        assert s.scalar(select(Handoff.id).where(Handoff.sender_id == "fb-2")) is None


async def test_promo_gives_the_persona_a_code_from_the_db(shop: DemoShop, domain: dict) -> None:
    shop.use(promo_policy="uplift", promo_control_pct=0, promo_exploration=0)
    out = await run_action(ActionPromoInquiry(), build_tracker(
        text="any discounts for me?", intent="promo_inquiry", customer_id=shop.customer_id), domain)
    promo = next(c for c in out.customs if c["type"] == "promo_code")
    with shop.session() as s:
        code = s.scalar(select(OfferCode).where(OfferCode.code == promo["code"]))
        first_name = s.get(Customer, shop.customer_id).first_name
        assert code is not None and code.customer_id == shop.customer_id and code.redeemed_at is None
        assert promo["expires"] == f"{code.expires_at:%B} {code.expires_at.day}, {code.expires_at.year}"
    assert promo["code"] in out.texts[0] and first_name in out.texts[0]
    assert out.events == []
    again = await run_action(ActionPromoInquiry(), build_tracker(
        text="any discounts?", intent="promo_inquiry", customer_id=shop.customer_id), domain)
    assert next(c for c in again.customs if c["type"] == "promo_code")["code"] == promo["code"]  # shown again


async def test_promo_for_anonymous_or_forged_ids_lists_sale_items(shop: DemoShop, domain: dict) -> None:
    with shop.session() as s:
        expected = [c.id for c in sale_products(s, limit=5)]
        codes_before = s.scalars(select(OfferCode.code)).all()
    assert expected
    for customer in (None, "abc", 999999):
        out = await run_action(ActionPromoInquiry(), build_tracker(
            text="any sales on?", intent="promo_inquiry", customer_id=customer), domain)
        assert out.texts[0] == policy_text(shop, "promotions")
        cards = out.customs[0]["cards"]
        assert [c["id"] for c in cards] == expected
        assert out.texts[1].startswith("A few of our biggest markdowns right now:\n1. ")
        assert out.slots == {S.LAST_RESULTS: expected, S.LAST_SEARCH: None}
    with shop.session() as s:
        for card in cards:
            product = s.get(Product, card["id"])
            assert product.compare_at_cents and product.compare_at_cents > product.price_cents == card["price_cents"]
        assert s.scalars(select(OfferCode.code)).all() == codes_before  # nobody got a code


async def test_ask_affirmation_reads_a_product_title_as_a_search(shop: DemoShop, domain: dict) -> None:
    with shop.session() as s:
        title = s.scalar(select(Product.title).where(Product.is_active.is_(True)).order_by(Product.id).limit(1))
    tracker = build_tracker(text=title.lower(), intent_ranking=[("nlu_fallback", 0.4), ("greet", 0.2)],
                            customer_id=shop.customer_id)
    out = await run_action(ActionDefaultAskAffirmation(), tracker, domain)
    assert out.messages == []
    assert out.event_kinds() == ["active_loop", "rewind", "action", "user"]
    said = out.events[-1]
    assert said["text"] == title.lower() and said["parse_data"]["intent"] == {"name": "search_products",
                                                                               "confidence": 1.0}
    assert said["metadata"] == {"customer_id": str(shop.customer_id)} and said["message_id"] == "m-0001"


async def test_ask_affirmation_reads_a_question_about_shown_products(shop: DemoShop, domain: dict) -> None:
    out = await run_action(ActionDefaultAskAffirmation(), build_tracker(
        text="will the second ones keep my feet dry?", intent_ranking=[("nlu_fallback", 0.4), ("deny", 0.2)],
        slots={S.LAST_RESULTS: [6, 37]}), domain)
    assert out.events[-1]["parse_data"]["intent"]["name"] == "ask_product_question"


async def test_ask_affirmation_reads_a_policy_question_as_one(shop: DemoShop, domain: dict) -> None:
    # "do you price match?" once got "Did you want to narrow down the last search?"
    for text in ("do you price match?", "do you do gift wrapping?"):
        out = await run_action(ActionDefaultAskAffirmation(), build_tracker(
            text=text, intent_ranking=[("nlu_fallback", 0.5), ("refine_search", 0.43)]), domain)
        assert out.messages == [] and out.events[-1]["parse_data"]["intent"]["name"] == "faq", text
    out = await run_action(ActionDefaultAskAffirmation(), build_tracker(
        text="do you price match?", intent_ranking=[("nlu_fallback", 0.5), ("refine_search", 0.43)],
        active_loop="order_lookup_form"), domain)   # a form's answer is never re-read
    assert out.responses == ["utter_ask_affirmation"]


async def test_a_promo_guess_for_another_policy_question_is_answered_honestly(shop: DemoShop, domain: dict) -> None:
    out = await run_action(ActionPromoInquiry(), build_tracker(text="do you price match?", intent="promo_inquiry"),
                           domain)
    assert out.responses == ["utter_faq_unknown"] and not out.customs, out.messages


async def test_ask_affirmation_asks_did_you_mean(shop: DemoShop, domain: dict) -> None:
    out = await run_action(ActionDefaultAskAffirmation(), build_tracker(
        text="that thing from before", intent_ranking=[("nlu_fallback", 0.4), ("order_status", 0.3)]), domain)
    assert out.responses == ["utter_ask_affirmation"] and out.events == []
    assert "check an order's status" in out.texts[0]
    assert out.messages[0]["buttons"] == [{"title": "Yes", "payload": "/order_status"},
                                          {"title": "No, something else", "payload": "/out_of_scope"}]


async def test_ask_affirmation_with_nothing_to_offer(shop: DemoShop, domain: dict) -> None:
    for ranking, text in (([("nlu_fallback", 0.9)], ""), ([("made_up_intent", 0.5)], "/made_up_intent"),
                          ([], "\u0000" * 50), ([("out_of_scope", 0.6)], "x" * 5000)):
        out = await run_action(ActionDefaultAskAffirmation(), build_tracker(text=text, intent_ranking=ranking), domain)
        assert out.responses == ["utter_ask_rephrase"] and out.events == [], ranking


async def test_stop_form_keeps_a_verified_order_only(shop: DemoShop, domain: dict) -> None:
    number = shop.order("shipped")
    verified = {S.ORDER_NUMBER: number, S.ORDER_EMAIL: shop.email,
                S.ORDER_VERIFIED: S.verification(number, shop.email, now=time.time(), ttl_s=900),
                S.RETURN_ITEM: "12", S.LOOKUP_FAILURES: 1.0}
    out = await run_action(ActionStopForm(), build_tracker(
        "order_form", text="stop", intent="stop", active_loop="return_form", slots=verified), domain)
    assert out.responses == ["utter_stopped"]
    assert out.events[0] == {"event": "active_loop", "timestamp": None, "name": None}
    assert out.slots == {"requested_slot": None, S.CONFIRM_CANCEL: None, S.NEW_ADDRESS: None, S.RETURN_ITEM: None,
                         S.RETURN_REASON: None, S.RETURN_REFUSAL: None}

    forged = {**verified, S.ORDER_VERIFIED: S.verification("100000", "someone@example.com", now=time.time(),
                                                           ttl_s=900)}
    out = await run_action(ActionStopForm(), build_tracker(
        "order_form", text="stop", intent="stop", slots=forged), domain)
    assert out.slots[S.ORDER_NUMBER] is None and out.slots[S.ORDER_EMAIL] is None
    assert S.LOOKUP_FAILURES not in out.slots  # the failure count survives leaving the form

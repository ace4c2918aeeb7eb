"""Product actions: search, refine, "show me more", details, compare and questions
(recommendations, "similar" and the cart are in :mod:`actions.recommend`).

Replies are a text message (numbered list, readable on any channel) plus a custom
payload ``{"type": "product_cards", ...}`` the web widget renders (see :mod:`actions.reply_text`).
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import slots as S
from actions.action_metrics import count_search
from actions.analytics_marks import answer_marks, search_marks
from actions.conversation import ActionAnswerFaq
from actions.reply_text import cards_payload, utter_cards
from actions.runtime import ServiceUnavailable, call_service
from shop.services import grounded, product_answers
from shop.services.catalog import (
    ProductCard,
    ProductDetails,
    find_brand_in_text,
    get_cards,
    known_colour,
    product_details,
    resolve_category,
)
from shop.services.fallback import pure_refinement
from shop.services.interactions import show_product
from shop.services.llm import get_llm_runner
from shop.services.llm_voice import get_shop_voice
from shop.services.money import format_money
from shop.services.policy_questions import asks_about_policy
from shop.services.price_claims import claimed_price, price_claim_answer
from shop.services.product_lookup import Referent, lookup_referent
from shop.services.search.backends import get_search_backend
from shop.services.search.query import RELAX_ORDER, SearchQuery, SearchResult, names_a_product
from shop.services.text_parse import asks_cheaper, bare_ordinal, colour_only, parse_ordinal, parse_price_range
from shop.settings import get_settings

RELAXED_WORDS = {
    "keywords": "some of your words", "use_case": "the activity", "colour": "the colour",
    "size": "the size", "brand": "the brand", "price": "the price range", "gender": "the fit (men's/women's)",
}


def _price_from_entity(value: Any) -> int | None:
    try:
        return int(round(float(str(value).replace("$", "").replace(",", "")) * 100))
    except (TypeError, ValueError):
        return None


def query_from_message(tracker: Tracker, *, base: dict[str, Any] | None = None) -> SearchQuery:
    """A query from the latest message's entities and text, on top of ``base``
    (a previous query as a dict) when refining."""
    fields: dict[str, Any] = dict(base or {})
    fields.pop("offset", None)
    text = S.latest_text(tracker)
    entities = S.latest_entities(tracker)
    for name in S.SEARCH_ENTITIES:
        if entities.get(name):
            fields[name] = str(entities[name])[:100]
    low, high = parse_price_range(text)
    low = low if low is not None else _price_from_entity(entities.get("price_min"))
    high = high if high is not None else _price_from_entity(entities.get("price_max"))
    if low is not None:
        fields["price_min_cents"] = low
    if high is not None:
        fields["price_max_cents"] = high
    if base is None:
        fields["text"] = text
    fields["limit"] = get_settings().search_page_size
    return SearchQuery(**fields)


def _search(session: Any, *, query: SearchQuery, category_options: tuple[str, ...] = ()) -> SearchResult:
    """Run ``query`` on the configured backend (``Settings.search_backend``), with a
    brand named in the words turned into a brand constraint. When the NLU tagged more
    than one word as a category ("waterproof hiking boots" -> "waterproof",
    "hiking-boots"), the first of ``category_options`` that names a real category
    replaces one that does not. Runs in a worker thread."""
    if query.category and resolve_category(session, value=query.category) is None:
        known = next((c for c in category_options if resolve_category(session, value=c) is not None), None)
        if known is not None:
            query = SearchQuery(**{**asdict(query), "category": known})
    if not query.brand:
        brand = find_brand_in_text(session, text=query.text)
        if brand is not None:
            query = SearchQuery(**{**asdict(query), "brand": brand.slug})
    backend = get_search_backend(get_settings().search_backend)
    result = backend.search(session, query)
    if not result.cards and query.category and resolve_category(session, value=query.category) is None:
        # the NLU tagged a misspelt word as the category ("waterprof hikng bots" -> "hikng"):
        # when spelling correction reads the words as something the catalog has, search them
        retry = backend.search(session, SearchQuery(**{**asdict(query), "category": None}))
        if retry.cards and retry.corrected_text:
            result = retry
    count_search(backend=get_settings().search_backend, first_page=query.offset == 0, found=bool(result.cards))
    return result


def _card_lines(cards: list[ProductCard], start: int) -> list[str]:
    return [f"{start + i}. {card.one_line()}" for i, card in enumerate(cards)]


def _utter_results(dispatcher: CollectingDispatcher, result: SearchResult) -> list[EventType]:
    marks = search_marks(result)
    if not result.cards:
        dispatcher.utter_message(response="utter_no_results", analytics=marks)
        return [SlotSet(S.LAST_RESULTS, [])]
    if result.relaxed:
        dropped = ", ".join(RELAXED_WORDS.get(r, r) for r in result.relaxed)
        dispatcher.utter_message(response="utter_search_relaxed", dropped=dropped)
    if result.corrected_text:
        dispatcher.utter_message(response="utter_search_corrected", corrected=result.corrected_text)
    start = result.query.offset + 1
    end = result.query.offset + len(result.cards)
    heading = "Here's the one match:" if result.total == 1 else f"Here are {start}–{end} of {result.total}:"
    utter_cards(dispatcher, [c.as_payload() for c in result.cards], heading=heading, start=start,
                lines=_card_lines(result.cards, start))
    buttons = [{"title": "Show more", "payload": "/more_results"}] if result.has_more else []
    dispatcher.utter_message(response="utter_search_followup", buttons=buttons, analytics=marks)
    return [
        SlotSet(S.LAST_SEARCH, asdict(result.query)),
        SlotSet(S.LAST_RESULTS, [c.id for c in result.cards]),
    ]


async def _run_search(dispatcher: CollectingDispatcher, query: SearchQuery, *, when_empty: str | None = None,
                      category_options: tuple[str, ...] = ()) -> list[EventType]:
    """Search and show the results. ``when_empty``: a response to utter instead when
    nothing is found, leaving the shown results as they are. ``category_options``: every
    category value in the message (see :func:`_search`)."""
    try:
        result = await call_service(_search, query=query, category_options=category_options)
    except ServiceUnavailable:
        dispatcher.utter_message(response="utter_service_unavailable")
        return []
    if not result.cards and when_empty:
        dispatcher.utter_message(response=when_empty)
        return []
    return _utter_results(dispatcher, result)


def _asks_about_shown(tracker: Tracker) -> bool:
    """"are the first ones leather?" right after a search is a question about a shown
    product, whichever search intent the NLU guessed for it."""
    return bool(tracker.get_slot(S.LAST_RESULTS)) and product_answers.question_about_shown(S.latest_text(tracker))


class ActionSearchProducts(Action):
    def name(self) -> str:
        return "action_search_products"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        if await _is_policy_question(tracker):
            return await _answer_faq(dispatcher, tracker, domain)
        if _asks_about_shown(tracker):
            return await ActionAnswerProductQuestion().run(dispatcher, tracker, domain)
        text = S.latest_text(tracker)
        shown = tracker.get_slot(S.LAST_RESULTS) or []
        if shown and bare_ordinal(text):  # "the second one": its details
            return await ActionProductDetails().run(dispatcher, tracker, domain)
        if isinstance(tracker.get_slot(S.LAST_SEARCH), dict) and await _pure_refinement(tracker):
            return await ActionRefineSearch().run(dispatcher, tracker, domain)
        if asks_something(text):
            # "what is the <title> made of?", "is this waterproof?" (on its page), "so X costs $20?"
            referent = await _referent(tracker, named=True)
            if referent is not None and (referent.named is not None or
                                         (referent.page is not None and points_at_this(text))):
                return await ActionAnswerProductQuestion().run(dispatcher, tracker, domain)
        return await _run_search(dispatcher, query_from_message(tracker),
                                 category_options=S.entity_values(tracker, "category"))


class ActionRefineSearch(Action):
    """"cheaper", "in blue", "size M": the last search with one thing changed."""

    def name(self) -> str:
        return "action_refine_search"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        if await _is_policy_question(tracker):
            return await _answer_faq(dispatcher, tracker, domain)
        if _asks_about_shown(tracker):
            return await ActionAnswerProductQuestion().run(dispatcher, tracker, domain)
        base = tracker.get_slot(S.LAST_SEARCH)
        if not isinstance(base, dict):
            query = query_from_message(tracker)
            if not names_a_product(query.text) and not any(query.has(c) for c in RELAX_ORDER if c != "keywords"):
                dispatcher.utter_message(response="utter_no_previous_search")  # "cheaper" than what?
                return []
            return await _run_search(dispatcher, query, category_options=S.entity_values(tracker, "category"))
        query = query_from_message(tracker, base=base)
        text = S.latest_text(tracker)
        colour = colour_only(text)
        if colour and not query.colour and colour != str(base.get("colour") or "").lower():
            try:
                known = await call_service(known_colour, value=colour)
            except ServiceUnavailable:
                known = None
            if known:  # "in blue" the NLU did not tag: the same search in that colour
                query = SearchQuery(**{**asdict(query), "colour": known})
        if asks_cheaper(text) and query.price_max_cents == base.get("price_max_cents"):
            query = await _cheaper_than_shown(tracker, query)
            return await _run_cheaper(dispatcher, query, category_options=S.entity_values(tracker, "category"))
        return await _run_search(dispatcher, query, category_options=S.entity_values(tracker, "category"))


async def _run_cheaper(dispatcher: CollectingDispatcher, query: SearchQuery, *,
                       category_options: tuple[str, ...]) -> list[EventType]:
    """"cheaper": the search under the lower price, never relaxing that price (nothing
    cheaper is an answer too, and what is shown stays)."""
    try:
        result = await call_service(_search, query=query, category_options=category_options)
    except ServiceUnavailable:
        dispatcher.utter_message(response="utter_service_unavailable")
        return []
    if not result.cards or "price" in result.relaxed:
        ceiling = format_money((query.price_max_cents or 0) + 1)
        dispatcher.utter_message(text=f"I have nothing cheaper than {ceiling} that fits your search; "
                                      "what I showed is the lowest-priced.", analytics={"search_results": 0})
        return []
    return _utter_results(dispatcher, result)


class ActionMoreResults(Action):
    def name(self) -> str:
        return "action_more_results"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        if await _is_policy_question(tracker):
            return await _answer_faq(dispatcher, tracker, domain)
        if _asks_about_shown(tracker):
            return await ActionAnswerProductQuestion().run(dispatcher, tracker, domain)
        base = tracker.get_slot(S.LAST_SEARCH)
        if not isinstance(base, dict):
            dispatcher.utter_message(response="utter_no_previous_search")
            return []
        fields = {**base, "offset": int(base.get("offset", 0)) + int(base.get("limit", 5))}
        # past the last page: say so, and keep what is shown for "compare the first two"
        return await _run_search(dispatcher, SearchQuery(**fields), when_empty="utter_no_more_results")


async def _cheaper_than_shown(tracker: Tracker, query: SearchQuery) -> SearchQuery:
    """``query`` with its top price just under the cheapest product shown (never above a
    budget already given: everything shown was within it)."""
    shown = [int(i) for i in (tracker.get_slot(S.LAST_RESULTS) or []) if str(i).isdigit()][:50]
    try:
        cards = await call_service(get_cards, product_ids=shown)
    except ServiceUnavailable:
        cards = []
    if not cards:
        return query
    ceiling = max(0, min(c.price_cents for c in cards) - 1)
    if query.price_max_cents is not None:
        ceiling = min(ceiling, query.price_max_cents)
    low = query.price_min_cents if query.price_min_cents is not None and query.price_min_cents <= ceiling else None
    return SearchQuery(**{**asdict(query), "price_max_cents": ceiling, "price_min_cents": low})


async def _pure_refinement(tracker: Tracker) -> bool:
    """"anything cheaper?", "in blue": only a change to the last search, whatever search
    intent the NLU guessed (see :func:`shop.services.fallback.pure_refinement`)."""
    if S.entity_values(tracker, "category"):
        return False
    try:
        return bool(await call_service(pure_refinement, text=S.latest_text(tracker)))
    except ServiceUnavailable:
        return False


_AVAILABILITY_RE = re.compile(
    r"\s*(?:hi|hey|hello)?[,!\s]*(?:do|does)\s+(?:you|u|ya)\s+(?:guys\s+)?(?:have|sell|carry|stock|got)\b"
    r"|\s*(?:have|got)\s+(?:you|u)\s+got\b|\s*(?:show|find)\s+me\b", re.I)
_QUESTION_RE = re.compile(r"\?\s*$|^\s*(is|are|does|do|did|can|could|will|would|should|has|have|what|what's|"
                          r"whats|how|which|who|where|when|why|tell me|so)\b|\b(confirm|right\?)", re.I)
_THIS_RE = re.compile(r"\b(this|it|this one|this product|this item|the one i'm (?:looking at|on))\b", re.I)


def asks_something(text: str) -> bool:
    """A question or a claim to confirm, not a list of search words nor a request to be
    shown something ("do you have <SKU>", "do you sell the <title>?": the product's card)."""
    if _AVAILABILITY_RE.match(text[:500]):
        return False
    return bool(_QUESTION_RE.search(text[:500])) or claimed_price(text) is not None


def points_at_this(text: str) -> bool:
    """"is this waterproof?", "does it come in blue": about the product in view."""
    return bool(_THIS_RE.search(text[:500]))


async def _is_policy_question(tracker: Tracker) -> bool:
    """A question about a shop policy ("do you price match?") that names no product or
    category: the FAQ answers it, never a search."""
    text = S.latest_text(tracker)
    if not text or S.from_button(tracker) or S.entity_values(tracker, "category") or not asks_about_policy(text):
        return False
    referent = await _referent(tracker, named=True)
    return referent is None or referent.named is None


async def _answer_faq(dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
    return await ActionAnswerFaq().run(dispatcher, tracker, domain)


async def _referent(tracker: Tracker, *, named: bool) -> Referent | None:
    """The product the latest message names (when ``named``) and the product page the
    shopper is on; ``None`` when the database does not answer."""
    try:
        return await call_service(lookup_referent, text=S.latest_text(tracker)[:500] if named else "",
                                  page_url=S.page_url(tracker), public_url=get_settings().public_url, named=named)
    except ServiceUnavailable:
        return None


WHICH_INTENT = {"action_similar_products": "similar_products", "action_add_to_cart": "add_to_cart"}


async def _ask_which(dispatcher: CollectingDispatcher, candidates: tuple[int, ...], *, intent: str) -> None:
    """"Which one do you mean: A or B?" with a button for each candidate."""
    try:
        cards = await call_service(get_cards, product_ids=list(candidates))
    except ServiceUnavailable:
        cards = []
    if len(cards) < 2:
        dispatcher.utter_message(response="utter_which_product")
        return
    names = [c.title for c in cards]
    listed = ", ".join(names[:-1]) + f" or {names[-1]}"
    buttons = [{"title": c.title[:60], "payload": f"/{intent}" + json.dumps({"product_id": c.id})} for c in cards]
    dispatcher.utter_message(text=f"Which one do you mean: {listed}?", buttons=buttons)


async def pointed_product_id(dispatcher: CollectingDispatcher, tracker: Tracker, *, default_first: bool,
                             action: str = "") -> int | None:
    """The product the shopper points at, or ``None`` after asking which. In order: a
    card's button; a SKU or exact title in the words; a position in the shown list; a
    product named in part; the product page the shopper is on; the product in focus;
    (with ``default_first``) the first one shown."""
    button = S.product_id_entity(tracker)
    if button is not None:
        return button
    text = S.latest_text(tracker)
    shown = [int(i) for i in (tracker.get_slot(S.LAST_RESULTS) or [])]
    position = parse_ordinal(text)
    referent = await _referent(tracker, named=not S.from_button(tracker))
    named = referent.named if referent is not None else None
    if named is not None and not named.ambiguous and named.reason in ("sku", "exact title"):
        return named.product_id
    if position is not None and shown:
        if position == -1:
            return shown[-1]
        if 1 <= position <= len(shown):
            return shown[position - 1]
        dispatcher.utter_message(response="utter_which_product")
        return None  # a position that wasn't shown: ask rather than guess
    if named is not None:
        if named.product_id is not None:
            return named.product_id
        await _ask_which(dispatcher, named.candidates, intent=WHICH_INTENT.get(action, "product_details"))
        return None
    if referent is not None and referent.page is not None:
        return referent.page
    focus = tracker.get_slot(S.FOCUS_PRODUCT)
    if focus:
        return int(focus)
    if shown and default_first:
        return shown[0]
    dispatcher.utter_message(response="utter_which_product")
    return None


def picked_product_id(tracker: Tracker, *, default_first: bool) -> int | None:
    """The product id the shopper points at: by position in the last results, else
    the product in focus, else (optionally) the first result."""
    button = S.product_id_entity(tracker)
    if button is not None:
        return button
    shown = [int(i) for i in (tracker.get_slot(S.LAST_RESULTS) or [])]
    position = parse_ordinal(S.latest_text(tracker))
    if position is not None and shown:
        if position == -1:
            return shown[-1]
        if 1 <= position <= len(shown):
            return shown[position - 1]
        return None  # a position that wasn't shown: ask rather than guess
    focus = tracker.get_slot(S.FOCUS_PRODUCT)
    if focus:
        return int(focus)
    return shown[0] if shown and default_first else None


async def _pointed_details(
    dispatcher: CollectingDispatcher, tracker: Tracker, *, default_first: bool
) -> ProductDetails | None:
    """Details of the product the shopper points at, or ``None`` after telling them
    why there are none (nothing pointed at, service down, product gone). Logs the
    view (a click when it came from a card's button) for the recommender."""
    product_id = await pointed_product_id(dispatcher, tracker, default_first=default_first)
    if product_id is None:
        return None
    try:
        details = await call_service(show_product, product_id=product_id, session_id=tracker.sender_id,
                                     customer_id=S.customer_id(tracker), clicked=S.from_button(tracker))
    except ServiceUnavailable:
        dispatcher.utter_message(response="utter_service_unavailable")
        return None
    if details is None:
        dispatcher.utter_message(response="utter_product_gone")
    return details


class ActionProductDetails(Action):
    def name(self) -> str:
        return "action_product_details"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        shown = tracker.get_slot(S.LAST_RESULTS) or []
        text = S.latest_text(tracker)
        if not shown and not tracker.get_slot(S.FOCUS_PRODUCT) and names_a_product(text) \
                and S.product_id_entity(tracker) is None:
            referent = await _referent(tracker, named=True)
            if referent is None or (referent.named is None and referent.page is None):
                # "show me the hiking boots" with nothing on screen and no product named: look it up
                return await _run_search(dispatcher, query_from_message(tracker),
                                         category_options=S.entity_values(tracker, "category"))
        details = await _pointed_details(dispatcher, tracker, default_first=len(shown) == 1)
        if details is None:
            return []
        dispatcher.utter_message(text=product_answers.describe(details))
        dispatcher.utter_message(json_message=cards_payload([details.card.as_payload()]))
        return [SlotSet(S.FOCUS_PRODUCT, float(details.card.id))]


class ActionCompareProducts(Action):
    def name(self) -> str:
        return "action_compare_products"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        shown = [int(i) for i in (tracker.get_slot(S.LAST_RESULTS) or [])]
        positions = product_answers.positions_in(S.latest_text(tracker), len(shown))
        if not positions and (product_answers.asks_about_one(S.latest_text(tracker))
                              or await _names_one_to_ask_about(tracker)):
            # "which season is the first one made for?" names one product: a question about it
            return await ActionAnswerProductQuestion().run(dispatcher, tracker, domain)
        ids = [shown[p - 1] for p in positions] if positions else shown[:2]
        if len(ids) < 2:
            dispatcher.utter_message(response="utter_compare_need_two")
            return []
        try:
            details = [await call_service(product_details, product_id=i) for i in ids[:3]]
        except ServiceUnavailable:
            dispatcher.utter_message(response="utter_service_unavailable")
            return []
        found = [d for d in details if d is not None]
        if len(found) < 2:
            dispatcher.utter_message(response="utter_compare_need_two")
            return []
        answer = await grounded.compare_products(found, S.latest_text(tracker), runner=get_llm_runner(),
                                                 voice=get_shop_voice())
        dispatcher.utter_message(text=answer.text, analytics=answer_marks(answer.source))
        return []


async def _names_one_to_ask_about(tracker: Tracker) -> bool:
    """"how heavy is the <title>?" guessed as a comparison: one product named, a
    question asked, nothing compared."""
    text = S.latest_text(tracker)
    if product_answers.COMPARE_WORDS.search(text) or not asks_something(text):
        return False
    referent = await _referent(tracker, named=True)
    return referent is not None and referent.named is not None


class ActionAnswerProductQuestion(Action):
    """Answer from the product's own data; say so plainly when the data is silent."""

    def name(self) -> str:
        return "action_answer_product_question"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        text = S.latest_text(tracker)
        if text and not S.from_button(tracker) and not asks_something(text) and not points_at_this(text):
            # "show me the <title>": nothing is asked, so the product's card (search puts
            # an exact title or SKU first), never an answer to an empty question
            return await ActionSearchProducts().run(dispatcher, tracker, domain)
        details = await _pointed_details(dispatcher, tracker, default_first=True)
        if details is None:
            return []
        entities = S.latest_entities(tracker)
        question = product_answers.without_title(S.latest_text(tracker), details.card.title)
        claim = claimed_price(question)
        if claim is not None:  # "the first tent is $1 today right?": the real price
            dispatcher.utter_message(text=price_claim_answer(details.card, claim, compare_at=details.compare_at))
            return [SlotSet(S.FOCUS_PRODUCT, float(details.card.id))]
        try:
            policies = await call_service(grounded.policy_facts, question=question)
        except ServiceUnavailable:
            policies = ""
        answer = await grounded.answer_product_question(details, question, runner=get_llm_runner(), policies=policies,
                                                        size=entities.get("size"), colour=entities.get("colour"),
                                                        voice=get_shop_voice())
        if answer.text is None:
            dispatcher.utter_message(response="utter_product_question_unknown", title=details.card.title)
        else:
            dispatcher.utter_message(text=answer.text, analytics=answer_marks(answer.source))
        return [SlotSet(S.FOCUS_PRODUCT, float(details.card.id))]

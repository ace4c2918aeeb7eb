"""Product actions: search, refine, "show me more", details, compare and questions
(recommendations, "similar" and the cart are in :mod:`actions.recommend`).

Replies are a text message (numbered list, readable on any channel) plus a custom
payload ``{"type": "product_cards", ...}`` the web widget renders (see :mod:`actions.reply_text`).
"""

from __future__ import annotations

import re
from dataclasses import asdict
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import slots as S
from actions.reply_text import cards_payload, utter_cards
from actions.runtime import ServiceUnavailable, call_service
from shop.services import grounded, product_answers
from shop.services.catalog import (
    ProductCard,
    ProductDetails,
    find_brand_in_text,
    get_cards,
    product_details,
    resolve_category,
)
from shop.services.interactions import show_product
from shop.services.llm import get_llm_runner
from shop.services.search.backends import get_search_backend
from shop.services.search.query import RELAX_ORDER, SearchQuery, SearchResult, names_a_product
from shop.services.text_parse import parse_ordinal, parse_price_range
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
    return get_search_backend(get_settings().search_backend).search(session, query)


def _card_lines(cards: list[ProductCard], start: int) -> list[str]:
    return [f"{start + i}. {card.one_line()}" for i, card in enumerate(cards)]


def _utter_results(dispatcher: CollectingDispatcher, result: SearchResult) -> list[EventType]:
    if not result.cards:
        dispatcher.utter_message(response="utter_no_results")
        return [SlotSet(S.LAST_RESULTS, [])]
    if result.relaxed:
        dropped = ", ".join(RELAXED_WORDS.get(r, r) for r in result.relaxed)
        dispatcher.utter_message(response="utter_search_relaxed", dropped=dropped)
    start = result.query.offset + 1
    end = result.query.offset + len(result.cards)
    heading = "Here's the one match:" if result.total == 1 else f"Here are {start}–{end} of {result.total}:"
    utter_cards(dispatcher, [c.as_payload() for c in result.cards], heading=heading, start=start,
                lines=_card_lines(result.cards, start))
    buttons = [{"title": "Show more", "payload": "/more_results"}] if result.has_more else []
    dispatcher.utter_message(response="utter_search_followup", buttons=buttons)
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
        if _asks_about_shown(tracker):
            return await ActionAnswerProductQuestion().run(dispatcher, tracker, domain)
        return await _run_search(dispatcher, query_from_message(tracker),
                                 category_options=S.entity_values(tracker, "category"))


class ActionRefineSearch(Action):
    """"cheaper", "in blue", "size M": the last search with one thing changed."""

    def name(self) -> str:
        return "action_refine_search"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
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
        text = S.latest_text(tracker).lower()
        if re.search(r"\b(cheaper|less expensive|lower price|budget)\b", text) and query.price_max_cents == base.get(
            "price_max_cents"
        ):
            shown = tracker.get_slot(S.LAST_RESULTS) or []
            try:
                cards = await call_service(get_cards, product_ids=[int(i) for i in shown])
            except ServiceUnavailable:
                cards = []
            if cards:
                cheapest = min(c.price_cents for c in cards)
                query = SearchQuery(**{**asdict(query), "price_max_cents": max(0, cheapest - 1)})
        return await _run_search(dispatcher, query, category_options=S.entity_values(tracker, "category"))


class ActionMoreResults(Action):
    def name(self) -> str:
        return "action_more_results"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        if _asks_about_shown(tracker):
            return await ActionAnswerProductQuestion().run(dispatcher, tracker, domain)
        base = tracker.get_slot(S.LAST_SEARCH)
        if not isinstance(base, dict):
            dispatcher.utter_message(response="utter_no_previous_search")
            return []
        fields = {**base, "offset": int(base.get("offset", 0)) + int(base.get("limit", 5))}
        # past the last page: say so, and keep what is shown for "compare the first two"
        return await _run_search(dispatcher, SearchQuery(**fields), when_empty="utter_no_more_results")


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
    product_id = picked_product_id(tracker, default_first=default_first)
    if product_id is None:
        dispatcher.utter_message(response="utter_which_product")
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
        if not shown and not tracker.get_slot(S.FOCUS_PRODUCT) and names_a_product(S.latest_text(tracker)):
            # "show me the Cairn 2 Court Shoe" with nothing on screen: look it up
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
        if not positions and product_answers.asks_about_one(S.latest_text(tracker)):
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
        answer = await grounded.compare_products(found, S.latest_text(tracker), runner=get_llm_runner())
        dispatcher.utter_message(text=answer.text)
        return []


class ActionAnswerProductQuestion(Action):
    """Answer from the product's own data; say so plainly when the data is silent."""

    def name(self) -> str:
        return "action_answer_product_question"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        details = await _pointed_details(dispatcher, tracker, default_first=True)
        if details is None:
            return []
        entities = S.latest_entities(tracker)
        question = S.latest_text(tracker)
        try:
            policies = await call_service(grounded.policy_facts, question=question)
        except ServiceUnavailable:
            policies = ""
        answer = await grounded.answer_product_question(details, question, runner=get_llm_runner(), policies=policies,
                                                        size=entities.get("size"), colour=entities.get("colour"))
        if answer.text is None:
            dispatcher.utter_message(response="utter_product_question_unknown", title=details.card.title)
        else:
            dispatcher.utter_message(text=answer.text)
        return [SlotSet(S.FOCUS_PRODUCT, float(details.card.id))]

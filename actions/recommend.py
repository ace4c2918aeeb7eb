"""Recommendation actions: "what would you recommend", "similar to this", and adding a
product to the cart (which the recommender learns from).

The ranking, constraints and reasons live in :mod:`shop.services.recommendations`; the
cart in :mod:`shop.services.cart`. Replies are a numbered text list with each
product's reason (readable on any channel) plus a ``product_cards`` custom payload
whose cards carry a ``reason``.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import slots as S
from actions.reply_text import utter_cards
from actions.runtime import ServiceUnavailable, call_service
from actions.search import RELAXED_WORDS, pointed_product_id, query_from_message
from shop.services.cart import add_to_cart
from shop.services.fallback import find_category_in_text
from shop.services.interactions import known_customer, record_interaction, utc_now
from shop.services.recommendation_log import record_impressions
from shop.services.recommendations import (
    Recommendations,
    get_model_holder,
    is_gift,
    last_bought,
    recommend_products,
    wants_like_last_purchase,
)
from shop.services.search.query import SearchQuery
from shop.settings import get_settings

INTROS = {"personal": "utter_recommend_personal", "bestsellers": "utter_recommend_intro"}
#: a shop with too little history for the preference model (cold start) has no best sellers yet
NEW_SHOP_INTRO = "Popular picks from our catalog, with what we know about each:"


def _holder() -> Any:
    settings = get_settings()
    return get_model_holder(str(settings.recommend_model_dir), settings.recommend_check_s)


def warm_up(session: Any) -> None:
    """Load the served preference model (and its FAISS index) before the first request."""
    served = _holder().get()
    if served is not None:
        served.model.vector_index()


def _recommend(session: Any, **kwargs: Any) -> Recommendations:
    """In the worker thread: the served model (hot-swapped) and the recommendations, each
    logged as shown (``recommendation_impressions``: the CTR and conversion funnel)."""
    result = recommend_products(session, holder=_holder(), k=get_settings().recommend_count, **kwargs)
    record_impressions(session, result=result, source="chat", session_id=kwargs.get("session_id"),
                       customer_id=known_customer(session, customer_id=kwargs.get("customer_id")), now=utc_now())
    return result


def _constraints(tracker: Tracker) -> SearchQuery:
    """The latest message's constraints, or the last search's when it names none."""
    query = query_from_message(tracker)
    if any(query.has(c) for c in ("category", "brand", "colour", "size", "gender", "use_case", "price")):
        return query
    base = tracker.get_slot(S.LAST_SEARCH)
    return query_from_message(tracker, base=base) if isinstance(base, dict) else query


def _utter(dispatcher: CollectingDispatcher, result: Recommendations, *, gift: bool) -> list[EventType]:
    if not result.items:
        dispatcher.utter_message(response="utter_recommend_none")
        return []
    if result.relaxed:
        dropped = ", ".join(RELAXED_WORDS.get(r, r) for r in result.relaxed)
        dispatcher.utter_message(response="utter_search_relaxed", dropped=dropped)
    if result.how == "similar" and result.anchor is not None:
        dispatcher.utter_message(response="utter_similar_intro", title=result.anchor.title)
    elif result.how == "bestsellers" and result.model_kind == "cold-start" and not gift:
        dispatcher.utter_message(text=NEW_SHOP_INTRO)
    else:
        dispatcher.utter_message(response="utter_recommend_gift" if gift else INTROS[result.how])
    lines = [f"{n}. {r.card.one_line()}\n   {r.reason[:1].upper()}{r.reason[1:]}"
             for n, r in enumerate(result.items, start=1)]
    utter_cards(dispatcher, [r.as_payload() for r in result.items], lines=lines)
    return [SlotSet(S.LAST_RESULTS, [r.card.id for r in result.items])]


async def _which_product(dispatcher: CollectingDispatcher, tracker: Tracker, action: str) -> int | None:
    """The product the shopper points at: a card's button, a position in the shown list,
    a product named in the words, the product page they are on, the one in focus (the
    only one shown when just one is); or ``None`` after asking "which one?"."""
    return await pointed_product_id(dispatcher, tracker, action=action,
                                    default_first=len(tracker.get_slot(S.LAST_RESULTS) or []) == 1)


class ActionRecommendProducts(Action):
    """"What would you recommend", "something like my last jacket", "a gift for my dad
    who hikes": for the signed-in customer, else for this conversation's behaviour,
    within the dialogue's constraints."""

    def name(self) -> str:
        return "action_recommend_products"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        text = S.latest_text(tracker)
        query = replace(_constraints(tracker), text="")
        customer = S.customer_id(tracker)
        gift = is_gift(text)
        try:
            if not query.category:  # "what jacket should i get" without a tagged category
                named = await call_service(find_category_in_text, text=text)
                query = replace(query, category=named.slug) if named is not None else query
            similar_to = None
            if customer is not None and wants_like_last_purchase(text):
                similar_to = await call_service(last_bought, customer_id=customer, category=query.category)
            result = await call_service(_recommend, query=query, customer_id=customer,
                                        session_id=tracker.sender_id, similar_to=similar_to, gift=gift)
        except ServiceUnavailable:
            dispatcher.utter_message(response="utter_service_unavailable")
            return []
        return _utter(dispatcher, result, gift=gift)


class ActionSimilarProducts(Action):
    """"Similar" on a card (``/similar_products{"product_id": 12}``), or "more like the
    second one" about the last results."""

    def name(self) -> str:
        return "action_similar_products"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        product_id = await _which_product(dispatcher, tracker, self.name())
        if product_id is None:
            return []
        customer = S.customer_id(tracker)
        query = replace(query_from_message(tracker), text="")
        try:
            await call_service(record_interaction, product_id=product_id, kind="click",
                               session_id=tracker.sender_id, customer_id=customer)
            result = await call_service(_recommend, query=query, customer_id=customer,
                                        session_id=tracker.sender_id, similar_to=product_id)
        except ServiceUnavailable:
            dispatcher.utter_message(response="utter_service_unavailable")
            return []
        if result.anchor is None:
            dispatcher.utter_message(response="utter_product_gone")
            return []
        return [*_utter(dispatcher, result, gift=False), SlotSet(S.FOCUS_PRODUCT, float(product_id))]


class ActionAddToCart(Action):
    """"Add to cart" on a card (``/add_to_cart{"product_id": 12, "size": "M"}``) or
    "I'll take the second one in M": the conversation's cart in the database."""

    def name(self) -> str:
        return "action_add_to_cart"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        product_id = await _which_product(dispatcher, tracker, self.name())
        if product_id is None:
            return []
        entities = S.latest_entities(tracker)
        size = str(entities["size"])[:40] if entities.get("size") else None
        colour = str(entities["colour"])[:40] if entities.get("colour") else None
        try:
            result = await call_service(add_to_cart, session_id=tracker.sender_id, product_id=product_id, size=size,
                                        colour=colour, customer_id=S.customer_id(tracker))
        except ServiceUnavailable:
            dispatcher.utter_message(response="utter_service_unavailable")
            return []
        events: list[EventType] = [SlotSet(S.FOCUS_PRODUCT, float(product_id))]
        if result.status == "gone":
            dispatcher.utter_message(response="utter_product_gone")
        elif result.status == "out_of_stock" and not result.options:
            dispatcher.utter_message(response="utter_cart_sold_out", title=result.title)
        elif result.status in ("choose_size", "out_of_stock"):
            chosen = {"product_id": product_id, **({"size": size} if size else {}),
                      **({"colour": colour} if colour else {})}
            buttons = [{"title": o, "payload": "/add_to_cart" + json.dumps({**chosen, result.option_field: o})}
                       for o in result.options[:10]]
            name = "utter_choose_option" if result.status == "choose_size" else "utter_cart_out_of_stock"
            dispatcher.utter_message(response=name, title=result.title, options=", ".join(result.options),
                                     buttons=buttons)
        elif result.status == "limit":
            dispatcher.utter_message(response="utter_cart_limit", title=result.title)
        else:
            if result.cart is None:
                raise RuntimeError(f"add_to_cart returned {result.status!r} without a cart")
            dispatcher.utter_message(response="utter_added_to_cart", title=result.title, count=result.cart.count,
                                     total=result.cart.total)
            dispatcher.utter_message(json_message=result.cart.as_payload())
        return events



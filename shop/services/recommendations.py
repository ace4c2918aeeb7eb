"""Recommendations for one shopper, with a one-line reason drawn from real data.

:func:`recommend_products` is what the action server calls (in a worker thread):

1. **Hard constraints first.** The products the shopper may be shown are the active
   ones with a variant in stock that match the dialogue's constraints (budget,
   category, brand, size, colour, gender, activity), exactly as search applies them
   (:func:`shop.services.search.filters.matching_ids`). When nothing matches, constraints are
   relaxed in search's order and the result says which.
2. **Never what they just bought**: products the customer bought in the last
   ``RECENT_PURCHASE_DAYS`` days are left out, unless their category is a consumable
   one (``CONSUMABLE_CATEGORIES``: socks wear out).
3. **Ranking**, by who is asking:
   - a shopper with history (their customer account's events, or this conversation's
     clicks and views when anonymous) is ranked by the served preference model
     (:mod:`models.recsys.serving`): FAISS candidates from the item tower, re-scored by the
     ranker; the reason names the product in their history that led there;
   - "similar to this" ranks by closeness to that product in the item tower;
   - a gift, a stranger, or no trained model yet: what sold best lately within the
     constraints, the reason being those sales.
4. **A brand-new shop** is served a cold-start version (:mod:`models.recsys.cold_start`,
   ``kind: cold-start``) until it has the history to train the preference model: the
   most popular products within the constraints, each reason saying what the
   popularity rests on ("popular in Jackets: ordered 12 times, rated 4.6★ by 31
   shoppers"; "in Jackets, not rated or ordered yet" when nothing is known), never
   "picked for you"; a shopper who has looked at products gets the ones closest to
   them in text and category ("because you looked at the ..."); "similar" is text and
   category similarity. ``Recommendations.model_kind`` says which kind answered.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models.recsys.cold_start import KIND as COLD_START
from models.recsys.cold_start import ColdStartModel
from models.recsys.interaction_log import InteractionLog, from_database
from models.recsys.serving import ModelHolder, Served
from shop.db.schema import Category, Interaction, Order, OrderItem, Product
from shop.services.catalog import ProductCard, get_cards, resolve_category
from shop.services.search.filters import matching_ids
from shop.services.search.query import RELAX_ORDER, SearchQuery

logger = logging.getLogger(__name__)

RECENT_PURCHASE_DAYS = 180
BESTSELLER_DAYS = 90
HISTORY_EVENTS = 500
CONSUMABLE_CATEGORIES = frozenset({"socks"})
ANONYMOUS = 0  # the user id of the shopper in a one-shopper log

_GIFT = re.compile(r"\b(gift|present|birthday|christmas|for (my|his|her|a|our) (dad|father|mom|mum|mother|son|"
                   r"daughter|wife|husband|partner|boyfriend|girlfriend|brother|sister|friend|kid|kids|grandpa|"
                   r"grandma|uncle|aunt))\b", re.IGNORECASE)
_LIKE_MY_LAST = re.compile(r"\b(like|similar to|same as)\b.*\b(my|i)\b.*\b(last|bought|ordered|got)\b|"
                           r"\bmy last\b", re.IGNORECASE)
_VERBS = {"purchase": "bought", "add_to_cart": "put in your cart", "click": "looked at", "view": "looked at"}


def is_gift(text: str) -> bool:
    """"a gift for my dad", "present for her": someone else's taste, not the shopper's."""
    return bool(_GIFT.search(text or ""))


def wants_like_last_purchase(text: str) -> bool:
    """"something like my last jacket", "similar to what I bought"."""
    return bool(_LIKE_MY_LAST.search(text or ""))


@dataclass(frozen=True)
class Recommendation:
    card: ProductCard
    reason: str

    def as_payload(self) -> dict[str, object]:
        return {**self.card.as_payload(), "reason": self.reason}


@dataclass(frozen=True)
class Recommendations:
    """``how``: ``personal``, ``similar``, ``bestsellers`` (most popular); ``relaxed``:
    constraints dropped to find anything; ``model_version``: the served model version
    used, if any, and ``model_kind`` its kind (``preference`` or ``cold-start``);
    ``anchor``: the product "similar" started from."""

    items: list[Recommendation]
    how: str
    relaxed: tuple[str, ...] = ()
    model_version: str | None = None
    anchor: ProductCard | None = None
    model_kind: str | None = None


@lru_cache(maxsize=4)
def get_model_holder(root: str, check_s: float) -> ModelHolder:
    """The process's :class:`models.recsys.serving.ModelHolder` for ``root`` (cached: one per
    process, so a promoted version is loaded once and swapped in for everyone)."""

    return ModelHolder(Path(root), check_s=check_s)


def _served(holder: ModelHolder | None) -> Served | None:
    if holder is None:
        return None
    return holder.get()


def shopper_log(session: Session, *, customer_id: int | None, session_id: str | None,
                limit: int = HISTORY_EVENTS) -> InteractionLog:
    """The shopper's latest ``limit`` events as a one-user :class:`InteractionLog`
    (user id :data:`ANONYMOUS`): the customer's when signed in, else this
    conversation's. Purchases at one instant share a basket, as in training."""

    if customer_id is None and not session_id:
        return InteractionLog.from_rows([])
    return from_database(session, customer_id=customer_id, session_id=session_id, latest=limit, as_user=ANONYMOUS)


def recently_bought(session: Session, *, customer_id: int | None, days: int = RECENT_PURCHASE_DAYS,
                    now: datetime | None = None) -> set[int]:
    """Products the customer ordered in the last ``days`` days, except consumables."""
    if customer_id is None:
        return set()
    since = (now or datetime.now(timezone.utc).replace(tzinfo=None)) - timedelta(days=days)
    consumable = select(Category.id).where(Category.slug.in_(CONSUMABLE_CATEGORIES))
    rows = session.scalars(
        select(OrderItem.product_id).join(Order, Order.id == OrderItem.order_id).join(
            Product, Product.id == OrderItem.product_id)
        .where(Order.customer_id == customer_id, Order.placed_at >= since, Order.status != "cancelled",
               Product.category_id.is_(None) | Product.category_id.not_in(consumable))
    ).all()
    return {int(p) for p in rows if p is not None}


def last_bought(session: Session, *, customer_id: int, category: str | None = None) -> int | None:
    """The product of the customer's latest order line (in ``category`` when given)."""
    stmt = (select(OrderItem.product_id).join(Order, Order.id == OrderItem.order_id)
            .where(Order.customer_id == customer_id, OrderItem.product_id.is_not(None)))
    if category:
        found = resolve_category(session, value=category)
        if found is None:
            return None
        stmt = stmt.join(Product, Product.id == OrderItem.product_id).where(Product.category_id == found.id)
    return session.scalar(stmt.order_by(Order.placed_at.desc(), OrderItem.id.desc()).limit(1))


def _allowed(session: Session, query: SearchQuery) -> tuple[list[int], tuple[str, ...]]:
    """Products matching the constraints (relaxed in search's order until some do)."""

    query = replace(query, text="", offset=0)
    relaxed: list[str] = []
    ids = matching_ids(session, query)
    for constraint in RELAX_ORDER:
        if ids:
            break
        if constraint == "keywords" or not query.has(constraint):
            continue
        query = query.without(constraint)
        relaxed.append(constraint)
        ids = matching_ids(session, query)
    return ids, tuple(relaxed)


_SALES_CACHE: dict[str, tuple[float, dict[int, int]]] = {}
_SALES_LOCK = threading.Lock()
SALES_CACHE_S = 300.0


def _sales(session: Session, *, days: int = BESTSELLER_DAYS) -> dict[int, int]:
    """product id -> purchases in the last ``days`` days (only those with any). One
    grouped query over the window, kept for ``SALES_CACHE_S`` seconds per database:
    bestsellers move slowly, and shoppers without history shouldn't wait on a scan."""
    bind = session.get_bind()
    key = f"{bind.engine.url}|{days}"
    now = time.monotonic()
    with _SALES_LOCK:
        cached = _SALES_CACHE.get(key)
        if cached is not None and now - cached[0] < SALES_CACHE_S:
            return cached[1]
    since = datetime.now(timezone.utc).replace(tzinfo=None) - timedelta(days=days)
    rows = session.execute(select(Interaction.product_id, func.count()).where(
        Interaction.kind == "purchase", Interaction.at >= since).group_by(Interaction.product_id)).all()
    counts = {int(p): int(n) for p, n in rows}
    with _SALES_LOCK:
        _SALES_CACHE[key] = (now, counts)
    return counts


def _bestsellers(session: Session, ids: list[int], k: int) -> list[tuple[int, str]]:
    allowed = set(ids)
    sales = {p: n for p, n in _sales(session).items() if p in allowed}
    cards = get_cards(session, product_ids=sorted(sales, key=lambda p: -sales[p])[:k]) if sales else []
    picked = [(c.id, f"bought {sales[c.id]} times in the last {BESTSELLER_DAYS} days") for c in cards]
    if len(picked) < k:  # nothing sold lately: the best rated
        rest = session.execute(select(Product.id, Product.rating_avg, Product.rating_count).where(
            Product.id.in_([i for i in ids[:5000] if i not in sales]))
            .order_by(Product.rating_avg.desc().nulls_last(), Product.rating_count.desc()).limit(k - len(picked))).all()
        picked += [(int(p), f"rated {r:.1f}★ by {n} shoppers" if r else "new in") for p, r, n in rest]
    return picked


def popularity_reason(model: ColdStartModel, item: int, category: str | None) -> str:
    """What a cold-start pick's popularity rests on, in words: "popular in Jackets:
    ordered 12 times, rated 4.6★ by 31 shoppers", "popular in Jackets: viewed 5
    times", or "in Jackets, not rated or ordered yet" (never a claim without evidence)."""
    where = category or "our shop"
    evidence = model.evidence(item)
    if evidence is None or not evidence.any:
        return f"in {where}, not rated or ordered yet"
    parts = []
    if evidence.orders:
        parts.append(f"ordered {evidence.orders} time{'s' if evidence.orders != 1 else ''}")
    if evidence.rating_count and evidence.rating_avg is not None:
        parts.append(f"rated {evidence.rating_avg:.1f}★ by {evidence.rating_count} "
                     f"shopper{'s' if evidence.rating_count != 1 else ''}")
    if not parts:
        parts.append(f"looked at {evidence.events} time{'s' if evidence.events != 1 else ''}")
    return f"popular in {where}: {', '.join(parts)}"


def _category_names(session: Session, ids: list[int]) -> dict[int, str]:
    """product id -> its category's name (products without one are left out)."""
    if not ids:
        return {}
    rows = session.execute(select(Product.id, Category.name).join(Category, Category.id == Product.category_id)
                           .where(Product.id.in_(ids))).all()
    return {int(p): str(name) for p, name in rows}


def _cold_start_picks(session: Session, model: ColdStartModel, *, allowed: list[int], k: int,
                      log: InteractionLog | None) -> tuple[list[tuple[int, str]], str]:
    """``(picks, how)`` of a cold-start model: closest to the shopper's history
    (``personal``) when ``log`` has any, else the most popular (``bestsellers``);
    products newer than the model fill up the list after those it knows."""
    if log is not None and len(log):
        ranked = model.rank(log, ANONYMOUS, k, allowed=allowed)
        whys = {item: model.because(log, ANONYMOUS, item) for item, _s in ranked}
        named = {w[0] for w in whys.values() if w is not None}
        titles = dict(session.execute(select(Product.id, Product.title).where(Product.id.in_(named))).all()) \
            if named else {}
        categories = _category_names(session, [i for i, _ in ranked])
        picked = []
        for item, _s in ranked:
            why = whys[item]
            if why is not None and why[0] in titles:
                picked.append((item, f"because you {_VERBS[why[1]]} the {titles[why[0]]}"))
            else:
                picked.append((item, popularity_reason(model, item, categories.get(item))))
        return picked, "personal"
    ranked = model.popular(k, allowed=allowed)
    if len(ranked) < k:  # products added since the model was made: after the ones it knows
        known = {i for i, _ in ranked}
        ranked += [(i, 0.0) for i in allowed if i not in known and i not in model.items.index][:k - len(ranked)]
    categories = _category_names(session, [i for i, _ in ranked])
    return [(i, popularity_reason(model, i, categories.get(i))) for i, _ in ranked], "bestsellers"


def recommend_products(session: Session, *, query: SearchQuery, customer_id: int | None = None,
                       session_id: str | None = None, k: int = 5, similar_to: int | None = None,
                       gift: bool = False, holder: ModelHolder | None = None,
                       exclude: tuple[int, ...] = ()) -> Recommendations:
    """Up to ``k`` recommendations (see the module doc). ``holder``: the served model's
    :class:`models.recsys.serving.ModelHolder` (``None``: bestsellers only)."""
    allowed, relaxed = _allowed(session, query)
    banned = recently_bought(session, customer_id=customer_id) | set(exclude)
    if similar_to is not None:
        banned.add(int(similar_to))
    allowed = [i for i in allowed if i not in banned]
    if not allowed:
        return Recommendations([], "bestsellers", relaxed)
    served = _served(holder)
    model = served.model if served is not None else None
    version = served.version if served is not None else None
    kind = getattr(model, "kind", None)
    anchor = None
    picked: list[tuple[int, str]] = []
    how = "bestsellers"
    if similar_to is not None:
        cards = get_cards(session, product_ids=[int(similar_to)])
        anchor = cards[0] if cards else None
        if anchor is not None and model is not None and int(similar_to) in model.items.index:
            picked = [(i, f"similar to the {anchor.title}") for i in model.similar(int(similar_to), k,
                                                                                 allowed=allowed)]
            how = "similar" if picked else how
    elif kind == COLD_START and isinstance(model, ColdStartModel):
        log = None if gift else shopper_log(session, customer_id=customer_id, session_id=session_id)
        picked, how = _cold_start_picks(session, model, allowed=allowed, k=k, log=log)
    elif model is not None and not gift:
        log = shopper_log(session, customer_id=customer_id, session_id=session_id)
        if len(log):
            ranked = model.rank(log, ANONYMOUS, k, allowed=allowed)
            whys = {item: model.because(log, ANONYMOUS, item) for item, _p in ranked}
            named = {w[0] for w in whys.values() if w is not None}
            titles = dict(session.execute(select(Product.id, Product.title).where(Product.id.in_(named))).all()) \
                if named else {}
            for item, _p in ranked:
                why = whys[item]
                if why is not None and why[0] in titles:
                    picked.append((item, f"because you {_VERBS[why[1]]} the {titles[why[0]]}"))
                else:
                    picked.append((item, "picked for you from what you've looked at"))
            how = "personal" if picked else how
    if not picked and anchor is not None:
        # no model that knows the product (or nothing near it is allowed): its category's bestsellers
        same = session.scalar(select(Product.category_id).where(Product.id == anchor.id))
        in_category = set(session.scalars(select(Product.id).where(Product.category_id == same)).all())
        picked = [(i, f"same kind as the {anchor.title}, {why}") for i, why in
                  _bestsellers(session, [i for i in allowed if i in in_category], k)]
        how = "similar" if picked else how
    if not picked:
        picked = _bestsellers(session, allowed, k)
    reasons = dict(picked)
    cards = get_cards(session, product_ids=[i for i, _ in picked])
    return Recommendations([Recommendation(c, reasons[c.id]) for c in cards][:k], how, relaxed, version, anchor,
                           kind if served is not None else None)

"""What the uplift model knows of a customer, from the shop database only.

:func:`customer_features` returns one row per (customer, moment): orders and spend in
the year before, days since the last order, average item price, and the share of
items bought in each category some offer targets. Only orders placed before the
moment count, so a logged decision is described as it was when it was made.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from shop.db.schema import Category, Offer, Order, OrderItem, Product

BASE_FEATURES = ("orders_365d", "log_spend_365d", "days_since_order", "avg_item_price", "never_ordered")
MAX_RECENCY_DAYS = 730


def offer_categories(session: Session) -> list[str]:
    """Every category slug some offer targets, sorted (one share feature each)."""
    slugs: set[str] = set()
    for cats in session.scalars(select(Offer.category_slugs)):
        slugs.update(cats or [])
    return sorted(slugs)


def feature_names(categories: Sequence[str]) -> list[str]:
    return [*BASE_FEATURES, *(f"share_{c}" for c in categories)]


def customer_features(session: Session, *, rows: Sequence[tuple[int, datetime]],
                      categories: Sequence[str]) -> np.ndarray:
    """Features of each ``(customer_id, at)`` in ``rows``; shape ``(len(rows),
    len(feature_names(categories)))``, float64."""
    ids = sorted({cid for cid, _ in rows})
    cat_of = {c.id: c.slug for c in session.scalars(select(Category))}
    history: dict[int, list[tuple[datetime, int, int, str | None]]] = defaultdict(list)
    if ids:
        stmt = (select(Order.customer_id, Order.placed_at, OrderItem.unit_price_cents, OrderItem.quantity,
                       Product.category_id)
                .join(OrderItem, OrderItem.order_id == Order.id).join(Product, Product.id == OrderItem.product_id)
                .where(Order.customer_id.in_(ids), Order.status != "cancelled"))
        for cid, placed, price, qty, cat in session.execute(stmt):
            history[cid].append((placed, int(price), int(qty), cat_of.get(cat) if cat is not None else None))
    for items in history.values():
        items.sort(key=lambda t: t[0])
    out = np.zeros((len(rows), len(BASE_FEATURES) + len(categories)))
    for r, (cid, at) in enumerate(rows):
        items = history.get(cid, [])
        before = items[:bisect_left([t[0] for t in items], at)]
        year = [t for t in before if t[0] >= at - timedelta(days=365)]
        orders = len({t[0] for t in year})
        spend = sum(p * q for _, p, q, _ in year) / 100
        last = before[-1][0] if before else None
        units = sum(q for _, _, q, _ in before)
        out[r, 0] = orders
        out[r, 1] = math.log1p(spend)
        out[r, 2] = min((at - last).days, MAX_RECENCY_DAYS) if last else MAX_RECENCY_DAYS
        out[r, 3] = (sum(p * q for _, p, q, _ in before) / units / 100) if units else 0.0
        out[r, 4] = 0.0 if before else 1.0
        for j, slug in enumerate(categories):
            out[r, len(BASE_FEATURES) + j] = (sum(q for _, _, q, c in before if c == slug) / units) if units else 0.0
    return out


DEFAULT_ORDER_CENTS = 8_000.0


def order_value_cents(row: np.ndarray) -> float:
    """A customer's expected order value in cents from their feature row: the last
    year's average order, else 1.5 times their average item price, else $80."""
    orders, log_spend, avg_item = float(row[0]), float(row[1]), float(row[3])
    if orders > 0:
        return math.expm1(log_spend) / orders * 100
    if avg_item > 0:
        return avg_item * 150
    return DEFAULT_ORDER_CENTS

"""Returns and reviews stage of the demo-shop generator: return requests for delivered
items and product reviews with ratings, both driven by the products' hidden quality.

Returns draw from stream 6 and reviews from stream 7.
"""

from __future__ import annotations

import math
import random
from datetime import datetime, timedelta
from typing import Any

from tools.demo.context import DemoProduct, GenContext
from tools.demo.params import APPAREL, FOOTWEAR, PERSONA_CUSTOMER_ID
from tools.demo.review_texts import (
    OTHER_RETURN_REASONS,
    RETURN_REASON_WEIGHTS,
    REVIEW_CLOSERS,
    REVIEW_DETAILS,
    REVIEW_OPENERS,
    REVIEW_TITLES,
)
from tools.demo.sampling import cumulative, pick, poisson, progress, seconds


def build_returns(ctx: GenContext) -> None:
    """Return requests for delivered items (more for low-quality products; never socks or
    the persona's orders), their status by age, numbered by request time."""
    rng = ctx.rng(6)
    reason_names = [r for r, _w in RETURN_REASON_WEIGHTS]
    reason_cum = cumulative(w for _r, w in RETURN_REASON_WEIGHTS)
    pending: list[tuple[datetime, dict[str, Any]]] = []
    for item_id, spec, product, variant, qty, oid in ctx.order_items:
        delivered_at = spec.events[-1][1] if spec.events[-1][0] == "delivered" else None
        if delivered_at is None or spec.customer.id == PERSONA_CUSTOMER_ID:
            continue
        if ctx.cats[product.cat].slug == "socks":
            continue
        p = 0.085 * min(2.5, max(0.4, math.exp(-0.5 * product.quality)))
        if rng.random() >= p:
            continue
        requested = delivered_at + seconds(rng.uniform(1, 29) * 86400)
        if requested > ctx.as_of:
            continue
        age_days = (ctx.as_of - requested).total_seconds() / 86400
        if age_days > 5 and rng.random() < 0.05:
            status = "rejected"
        elif age_days < 2:
            status = "requested"
        elif age_days < 6:
            status = "approved"
        elif age_days < 10:
            status = "received"
        else:
            status = "refunded"
        reason = pick(rng, reason_names, reason_cum)
        if reason == "other":
            reason = rng.choice(OTHER_RETURN_REASONS)
        pending.append((requested, {
            "order_id": oid, "order_item_id": item_id, "customer_id": spec.customer.id,
            "quantity": qty, "reason": reason, "status": status,
            "refund_cents": 0 if status == "rejected" else variant.price_cents * qty,
            "requested_at": requested,
        }))
    pending.sort(key=lambda t: t[0])
    rows = []
    for rid, (_at, row) in enumerate(pending, start=1):
        rows.append({"id": rid, "rma_number": f"RMA-{rid:06d}", **row})
    ctx.rows["returns"] = rows


def build_reviews(ctx: GenContext) -> None:
    """Reviews (more for popular products, rated by hidden quality) mostly by buyers after
    delivery; sets each product row's ``rating_avg`` and ``rating_count``."""
    rng = ctx.rng(7)
    buyers: dict[int, list[tuple[int, datetime]]] = {}
    for _item_id, spec, product, _variant, _qty, _oid in ctx.order_items:
        if spec.events[-1][0] == "delivered":
            buyers.setdefault(product.id, []).append((spec.customer.id, spec.events[-1][1]))
    mean_pop = sum(p.pop for p in ctx.products) / len(ctx.products)
    pending: list[tuple[datetime, int, dict[str, Any]]] = []
    product_rows = ctx.rows["products"]
    n_customers = len(ctx.customers)
    for idx, product in enumerate(progress(ctx.products, desc="reviews", total=len(ctx.products),
                                           enabled=ctx.progress)):
        lam = 0.6 + 3.2 * min(2.5, product.pop / mean_pop)
        n = min(8, poisson(rng, lam))
        if (ctx.as_of - product.created_at).days < 5:
            n = 0
        candidates = list(buyers.get(product.id, []))
        rng.shuffle(candidates)
        used: list[int] = []
        ratings: list[int] = []
        for _k in range(n):
            found = _reviewer(ctx, rng, product, candidates, used, n_customers)
            if found is None:
                continue
            reviewer, at = found
            used.append(reviewer)
            mu = min(4.9, max(1.5, 4.0 + 0.75 * product.quality))
            rating = int(min(5, max(1, round(rng.gauss(mu, 0.8)))))
            ratings.append(rating)
            title, body = _review_text(ctx, rng, product, rating)
            pending.append((at, len(pending), {
                "product_id": product.id, "customer_id": reviewer, "rating": rating,
                "title": title, "body": body, "created_at": at,
            }))
        if ratings:
            product_rows[idx]["rating_avg"] = sum(ratings) / len(ratings)
            product_rows[idx]["rating_count"] = len(ratings)
    pending.sort(key=lambda t: (t[0], t[1]))
    ctx.rows["reviews"] = [{"id": i, **row} for i, (_at, _n, row) in enumerate(pending, start=1)]


def _reviewer(ctx: GenContext, rng: random.Random, product: DemoProduct, candidates: list[tuple[int, datetime]],
              used: list[int], n_customers: int) -> tuple[int, datetime] | None:
    """(customer id, time) of the next review of ``product``: a buyer (popped from
    ``candidates``) a few days to weeks after delivery, else a random customer who has not
    reviewed it yet (``used``) at a random time; ``None`` when there is none."""
    while candidates:
        cid, delivered_at = candidates.pop()
        if cid in used:
            continue
        when = delivered_at + seconds(rng.uniform(2, 60) * 86400)
        if when <= ctx.as_of:
            return cid, when
    reviewer: int | None = None
    for _try in range(5):
        cid = rng.randint(2, n_customers) if n_customers > 1 else 1
        if cid not in used:
            reviewer = cid
            break
    if reviewer is None:
        return None
    lo = max(product.created_at, ctx.customers[reviewer - 1].created_at) + timedelta(days=2)
    if lo >= ctx.as_of:
        return None
    return reviewer, lo + seconds((ctx.as_of - lo).total_seconds() * rng.random())


def _review_text(ctx: GenContext, rng: random.Random, product: DemoProduct, rating: int) -> tuple[str, str]:
    """A review title and body for ``rating``, in words that fit the product."""
    slug = ctx.cats[product.cat].slug
    group = ("footwear" if slug in FOOTWEAR else "apparel" if slug in APPAREL and slug != "gloves"
             else "socks" if slug == "socks" else "accessory" if slug in ("hats", "gloves")
             else "pack" if slug == "backpacks" else "tent" if slug == "tents" else "bag")
    noun = product.noun.lower()
    use = rng.choice(product.use_cases)
    fmt = {"noun": noun, "brand": ctx.brands[product.brand].name, "use": use,
           "for_use": f" for {use}" if rng.random() < 0.6 else "", "material": product.material}
    title = rng.choice(REVIEW_TITLES[rating]).format(**fmt)
    polarity = "pos" if rating >= 4 else "neu" if rating == 3 else "neg"
    parts = [rng.choice(REVIEW_OPENERS[rating]).format(**fmt)]
    if rng.random() < 0.85:
        parts.append(rng.choice(REVIEW_DETAILS[group][polarity]).format(**fmt))
    if rating == 4 and rng.random() < 0.4:
        parts.append(rng.choice(REVIEW_DETAILS[group]["neu"]).format(**fmt))
    closer = rng.choice(REVIEW_CLOSERS[rating])
    if closer:
        parts.append(closer)
    title = title[0].upper() + title[1:]
    return title, " ".join(parts)

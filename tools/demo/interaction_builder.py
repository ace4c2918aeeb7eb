"""Interactions stage of the demo-shop generator: the clicks, views, add-to-carts and
purchases of shopper sessions, both the sessions that led to each order and browsing
sessions (some anonymous) that follow the customers' hidden favourites.

All draws come from the context's stream 8: first the order sessions, in order, then the
browse sessions.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from tools.demo.context import GenContext
from tools.demo.demand import sample_product
from tools.demo.params import BASE_BROWSE_SESSIONS, MIN_BROWSE_SESSIONS
from tools.demo.sampling import cumulative, pick, progress, scaled, seconds

# (at, sequence number, customer id or None, session id, product id, kind, source)
Event = tuple[datetime, int, int | None, str, int, str, str]


class EventLog:
    """Interaction events in the order they are generated (the sequence breaks time ties)."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    def add(self, at: datetime, cid: int | None, sid: str, pid: int, kind: str, source: str) -> None:
        self.events.append((at, len(self.events) + 1, cid, sid, pid, kind, source))


def build_interactions(ctx: GenContext) -> None:
    """Fill the interactions rows: events up to ``ctx.as_of``, ordered by time."""
    rng = ctx.rng(8)
    log = EventLog()
    _order_sessions(ctx, rng, log)
    _browse_sessions(ctx, rng, log)
    events = [e for e in log.events if e[0] <= ctx.as_of]
    events.sort(key=lambda e: (e[0], e[1]))
    ctx.rows["interactions"] = [
        {"id": i, "customer_id": cid, "session_id": sid, "product_id": pid, "kind": kind, "at": at,
         "source": source}
        for i, (at, _seq, cid, sid, pid, kind, source) in enumerate(events, start=1)
    ]


def _session_id(rng: random.Random) -> str:
    return f"{rng.getrandbits(128):032x}"


def _order_sessions(ctx: GenContext, rng: random.Random, log: EventLog) -> None:
    """Per order: a few views before it, then a view (sometimes a click), an add-to-cart
    and a purchase of each ordered product."""
    add = log.add
    for spec in progress(ctx.orders, desc="order sessions", total=len(ctx.orders), enabled=ctx.progress):
        sid = _session_id(rng)
        cid = spec.customer.id
        source = "app" if rng.random() < 0.25 else "web"
        placed = spec.placed_at
        for _extra in range(rng.randint(0, 3)):
            t = placed - seconds(rng.uniform(15, 60) * 60)
            p = sample_product(ctx, rng, spec.customer, before=t)
            add(t, cid, sid, p.id, "view", source)
        for product, _variant, _qty in spec.lines:
            t_view = placed - seconds(rng.uniform(3, 40) * 60)
            if rng.random() < 0.4:
                add(t_view - seconds(rng.uniform(2, 60)), cid, sid, product.id, "click", source)
            add(t_view, cid, sid, product.id, "view", source)
            add(placed - seconds(rng.uniform(60, 170)), cid, sid, product.id, "add_to_cart", source)
            add(placed, cid, sid, product.id, "purchase", source)


def _browse_sessions(ctx: GenContext, rng: random.Random, log: EventLog) -> None:
    """Browsing without buying: sessions of active customers (12% anonymous), often focused
    on one favourite category, with clicks, views and the odd add-to-cart."""
    add = log.add
    n_sessions = scaled(BASE_BROWSE_SESSIONS, ctx.scale, MIN_BROWSE_SESSIONS)
    browse_cum = cumulative(c.profile.activity * max(0.0, (ctx.as_of - max(c.created_at, ctx.window_start)).days)
                            for c in ctx.customers)
    for _s in progress(range(n_sessions), desc="browse sessions", total=n_sessions, enabled=ctx.progress):
        anonymous = rng.random() < 0.12
        cust = None if anonymous else pick(rng, ctx.customers, browse_cum)
        start = ctx.window_start if cust is None else max(cust.created_at, ctx.window_start)
        t = start + seconds((ctx.as_of - timedelta(hours=1) - start).total_seconds() * rng.random())
        sid = _session_id(rng)
        source = pick(rng, ("web", "app", "email"), (0.62, 0.92, 1.0))
        focus = None
        if cust is not None and rng.random() < 0.6:
            focus = pick(rng, cust.fav_slugs, cust.fav_cum)
        for _k in range(min(12, 1 + int(rng.expovariate(1 / 4.0)))):
            cat = focus if focus is not None and rng.random() < 0.8 else None
            product = sample_product(ctx, rng, cust, before=t, cat=cat)
            cid = cust.id if cust else None
            if rng.random() < 0.55:
                add(t, cid, sid, product.id, "click", source)
                t += seconds(rng.uniform(1, 5))
            add(t, cid, sid, product.id, "view", source)
            if rng.random() < 0.1:
                t += seconds(rng.uniform(20, 200))
                add(t, cid, sid, product.id, "add_to_cart", source)
            t += seconds(rng.uniform(20, 240))
            if t > ctx.as_of:
                break

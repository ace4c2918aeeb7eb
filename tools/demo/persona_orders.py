"""The demo persona's orders: Alex Rivera (customer 1) always has a delivered order
inside the return window, one outside it, one in transit and one still processing, so
the demo conversations work whatever ``as_of`` is."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from tools.demo.context import DemoCustomer, DemoProduct, DemoVariant, GenContext, OrderSpec
from tools.demo.demand import pool_for, variant_for
from tools.demo.params import PERSONA_CUSTOMER_ID


def _persona_pick(ctx: GenContext, cat_slug: str, customer: DemoCustomer, before: datetime,
                  skip: int = 0) -> DemoProduct:
    """The ``skip``-th most popular product of ``cat_slug`` for sale before ``before``."""
    pool = pool_for(ctx, ctx.cat_index[cat_slug], customer.profile.gender)[-1][0]
    ok = sorted((p for p in pool if p.created_at <= before), key=lambda p: (-p.pop, p.id))
    if not ok:
        ok = sorted(pool_for(ctx, ctx.cat_index[cat_slug], "any")[-1][0], key=lambda p: (p.created_at, p.id))
    return ok[min(skip, len(ok) - 1)]


def _persona_variant(ctx: GenContext, product: DemoProduct, customer: DemoCustomer) -> DemoVariant:
    """The persona's size in her favourite colour if the product has them, preferring stock."""
    rng = random.Random(product.id)
    return variant_for(ctx, rng, product, customer)


def persona_order_specs(ctx: GenContext) -> list[OrderSpec]:
    """The persona's six orders, placed relative to ``ctx.as_of``: two old delivered ones,
    then ``"expired"``, ``"returnable"``, ``"shipped"`` and ``"processing"`` (the keys of
    :data:`~tools.demo.params.PERSONA_ORDER_KEYS`). Products are the most popular of each
    category, so nothing here draws from the shared random streams."""
    alex = ctx.customers[PERSONA_CUSTOMER_ID - 1]
    a = ctx.as_of

    def lines(*picks: tuple[str, int, int], before: datetime) -> list[tuple[DemoProduct, DemoVariant, int]]:
        out = []
        for slug, skip, qty in picks:
            p = _persona_pick(ctx, slug, alex, before, skip)
            out.append((p, _persona_variant(ctx, p, alex), qty))
        return out

    def delivered(placed: datetime, shipped: datetime,
                  delivered_at: datetime) -> list[tuple[str, datetime, str | None]]:
        return [("pending", placed, "order placed"),
                ("processing", placed + timedelta(minutes=18), "payment confirmed"),
                ("shipped", shipped, None), ("delivered", delivered_at, None)]

    specs = []
    # two older delivered orders (history for recommendations)
    for days, picks in ((400, (("t-shirts", 0, 1), ("hats", 0, 1))), (250, (("fleece", 0, 1),))):
        placed = (a - timedelta(days=days, hours=3, minutes=12))
        shipped = placed + timedelta(days=1, hours=2)
        specs.append(OrderSpec(placed, alex, lines(*picks, before=placed), "standard",
                              delivered(placed, shipped, shipped + timedelta(days=3, hours=4))))
    # expired: delivered 60 days before as_of
    d_exp = a - timedelta(days=60, hours=2)
    placed = d_exp - timedelta(days=4, hours=6)
    specs.append(OrderSpec(placed, alex, lines(("backpacks", 0, 1), ("fleece", 1, 1), before=placed),
                           "standard", delivered(placed, d_exp - timedelta(days=3), d_exp),
                           persona_key="expired"))
    # returnable: delivered 5 days before as_of, no socks
    d_ret = a - timedelta(days=5, hours=3)
    placed = d_ret - timedelta(days=4, hours=2)
    specs.append(OrderSpec(placed, alex, lines(("jackets", 0, 1), ("hiking-boots", 0, 1), before=placed),
                           "standard", delivered(placed, d_ret - timedelta(days=3), d_ret),
                           persona_key="returnable"))
    # shipped: in transit
    placed = a - timedelta(days=3, hours=5)
    shipped = a - timedelta(days=1, hours=20)
    specs.append(OrderSpec(placed, alex, lines(("trail-shoes", 0, 1), before=placed), "standard",
                           [("pending", placed, "order placed"),
                            ("processing", placed + timedelta(minutes=25), "payment confirmed"),
                            ("shipped", shipped, None)], persona_key="shipped"))
    # processing: placed 1 day ago, cancellable
    placed = a - timedelta(days=1)
    specs.append(OrderSpec(placed, alex, lines(("t-shirts", 1, 1), ("socks", 0, 2), before=placed),
                           "standard", [("pending", placed, "order placed"),
                                        ("processing", placed + timedelta(minutes=14), "payment confirmed")],
                           persona_key="processing"))
    return specs

"""Deterministic demo-shop generator: catalog, customers, orders, returns, reviews and
shopper interactions for "Ridgeline Outfitters".

``generate_demo_shop(session, seed=7, as_of=..., scale=1.0)`` fills an *empty*, migrated
database. At ``scale=1.0`` it writes about 5,200 products (~70,000 variants), 2,200
customers, 10,600 orders, 20,000 reviews and 130,000 interactions in well under a minute
on SQLite, using bulk Core inserts with explicit ids (PostgreSQL sequences are moved
past them afterwards by :func:`reset_sequences`).

Behaviour is driven by *hidden* per-customer profiles (favourite categories with
Dirichlet weights, a style that shapes brand affinities, a price level that prefers
brand tiers, gender, sizes and colours) and by a latent product quality that drives
ratings, popularity and return rates. The profiles are never stored in the database;
they come back in :attr:`DemoStats.truth` and the CLI can write them with
``--truth-out`` so recommenders can be evaluated against the truth.

Determinism: every random draw comes from :class:`random.Random` streams seeded from
``seed``; nothing iterates over sets or hash-ordered containers while sampling, and the
clock is never read: all timestamps derive from ``as_of``. The same ``seed``, ``scale``
and ``as_of`` therefore produce identical rows.

Customer 1 is the fixed demo persona, Alex Rivera (``alex.rivera@example.com``), whose
orders are placed relative to ``as_of`` so the demo conversations always work: see
:data:`PERSONA_EMAIL` and :attr:`DemoStats.persona_orders`.

The work is split by stage, each a module with functions over one shared
:class:`~tools.demo.context.GenContext`: :mod:`tools.demo.catalog_builder`,
:mod:`tools.demo.customer_builder`, :mod:`tools.demo.order_builder` (with
:mod:`tools.demo.persona_orders`), :mod:`tools.demo.returns_reviews` and
:mod:`tools.demo.interaction_builder`; :mod:`tools.demo.demand` is how shoppers pick products
and :mod:`tools.demo.shop_tables` writes, counts and clears the tables. This module runs
them in order and keeps the public names other code imports from here.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shop.db.schema import Policy
from tools.demo.catalog_builder import build_catalog
from tools.demo.context import GenContext
from tools.demo.customer_builder import build_customers
from tools.demo.interaction_builder import build_interactions
from tools.demo.offer_response import generate_offers
from tools.demo.order_builder import build_orders
from tools.demo.params import (
    HISTORY_DAYS,
    PERSONA_CUSTOMER_ID,
    PERSONA_EMAIL,
    PERSONA_ORDER_KEYS,
)
from tools.demo.policy_texts import seed_policies
from tools.demo.profiles import CustomerProfile
from tools.demo.results import DemoStats, ShopNotEmptyError
from tools.demo.returns_reviews import build_returns, build_reviews
from tools.demo.sampling import normalise_as_of, slugify
from tools.demo.shop_tables import GENERATED_TABLES, clear_shop, reset_sequences, shop_product_count, write_rows

__all__ = [
    "GENERATED_TABLES",
    "HISTORY_DAYS",
    "PERSONA_CUSTOMER_ID",
    "PERSONA_EMAIL",
    "PERSONA_ORDER_KEYS",
    "CustomerProfile",
    "DemoStats",
    "ShopNotEmptyError",
    "clear_shop",
    "generate_demo_shop",
    "reset_sequences",
    "shop_product_count",
    "slugify",
]


def generate_demo_shop(
    session: Session, *, seed: int = 7, as_of: datetime, scale: float = 1.0, progress: bool = True
) -> DemoStats:
    """Fill an empty, migrated shop database with the deterministic demo shop.

    Args:
        session: an open session; rows are flushed, the caller commits.
        seed: random seed; the same ``seed``, ``scale`` and ``as_of`` give identical rows.
        as_of: the "now" of the demo (naive UTC, or aware and converted to UTC; microseconds
            dropped). Orders cover the ``HISTORY_DAYS`` (730) days before it.
        scale: multiplies the row counts (1.0: ~5,200 products, 2,200 customers, 10,600
            orders, >100,000 interactions). Every category and the persona exist at any scale.
        progress: show tqdm progress bars on stderr.

    Returns:
        :class:`DemoStats` with the row counts, the persona's order numbers and the hidden
        customer profiles.

    Raises:
        ShopNotEmptyError: the database already has products (see :func:`clear_shop`).
        ValueError: ``scale`` is not positive.
    """
    existing = shop_product_count(session)
    if existing:
        raise ShopNotEmptyError(f"the shop already has {existing} products; clear it first")
    as_of = normalise_as_of(as_of)
    ctx = GenContext(seed=seed, as_of=as_of, scale=scale, progress=progress)
    build_catalog(ctx)
    build_customers(ctx)
    build_orders(ctx)
    build_returns(ctx)
    build_reviews(ctx)
    build_interactions(ctx)
    counts = write_rows(session, ctx.rows, progress=ctx.progress)

    counts.update(generate_offers(session, seed=seed, as_of=as_of, truth={c.id: c.profile for c in ctx.customers}))
    counts["policies_added"] = seed_policies(session, now=as_of)
    counts["policies"] = int(session.scalar(select(func.count()).select_from(Policy)) or 0)
    session.flush()
    return DemoStats(
        seed=seed, scale=scale, as_of=as_of, counts=counts,
        persona_customer_id=PERSONA_CUSTOMER_ID, persona_email=PERSONA_EMAIL,
        persona_orders=dict(sorted(ctx.persona_orders.items())),
        truth={c.id: c.profile for c in ctx.customers},
    )

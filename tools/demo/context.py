"""The shared state of one demo-shop generation run.

:class:`GenContext` holds the run's settings (seed, ``as_of``, scale), the vocabulary
indexes, the in-memory records each stage produces for the next (products, customers,
order specs) and the table rows waiting to be written. The stages (catalog, customers,
orders, returns and reviews, interactions) are functions that take the context, read
what earlier stages left there and add their own results.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from tools.demo import vocab
from tools.demo.params import CATEGORY_WEIGHTS, COLOUR_WEIGHTS, HISTORY_DAYS
from tools.demo.profiles import CustomerProfile
from tools.demo.sampling import cumulative


@dataclass(slots=True)
class DemoVariant:
    """A generated product variant, as later stages need it."""

    id: int
    size: str | None
    colour: str | None
    price_cents: int


@dataclass(slots=True)
class DemoProduct:
    """A generated product with its hidden quality and popularity."""

    id: int
    cat: int
    brand: int
    gender: str
    quality: float
    pop: float
    created_at: datetime
    title: str
    noun: str
    material: str
    use_cases: list[str]
    sizes: list[str]
    colours: list[str]
    variants: dict[tuple[str, str], DemoVariant]


@dataclass(slots=True)
class DemoCustomer:
    """A generated customer with the hidden profile that drives their behaviour."""

    id: int
    first: str
    last: str
    city: str
    country: str
    postcode: str
    line1: str
    line2: str | None
    created_at: datetime
    profile: CustomerProfile
    fav_slugs: list[int]
    fav_cum: list[float]


@dataclass(slots=True)
class OrderSpec:
    """An order before it gets its id and number: who, when, what and its status timeline."""

    placed_at: datetime
    customer: DemoCustomer
    lines: list[tuple[DemoProduct, DemoVariant, int]]
    method: str
    events: list[tuple[str, datetime, str | None]]
    persona_key: str | None = None


# (order item id, order, product, variant, quantity, order id)
OrderItemRef = tuple[int, OrderSpec, DemoProduct, DemoVariant, int, int]
# (category index, shopper gender) -> brand index (-1: every brand) -> (products, cumulative popularity)
ProductPool = dict[int, tuple[list[DemoProduct], list[float]]]


class GenContext:
    """Holds the state of one generation run; see :func:`tools.demo.generate.generate_demo_shop`."""

    def __init__(self, *, seed: int, as_of: datetime, scale: float, progress: bool) -> None:
        if scale <= 0:
            raise ValueError("scale must be positive")
        self.seed = seed
        self.as_of = as_of
        self.scale = scale
        self.progress = progress
        self.window_start = as_of - timedelta(days=HISTORY_DAYS)
        self.cats = vocab.CATEGORIES
        self.brands = vocab.BRANDS
        self.cat_index = {c.slug: i for i, c in enumerate(self.cats)}
        self.cat_cum = cumulative(CATEGORY_WEIGHTS[c.slug] for c in self.cats)
        self.colour_names = list(vocab.COLOURS)
        self.colour_cum = cumulative(COLOUR_WEIGHTS.get(c, 1.0) for c in self.colour_names)
        self.products: list[DemoProduct] = []
        self.customers: list[DemoCustomer] = []
        self.customer_cum: list[float] = []
        self.pools: dict[tuple[int, str], ProductPool] = {}
        self.brand_cache: dict[tuple[int, int], tuple[list[int], list[float]]] = {}
        self.orders: list[OrderSpec] = []
        self.order_items: list[OrderItemRef] = []
        self.persona_orders: dict[str, str] = {}
        self.rows: dict[str, list[dict[str, Any]]] = {}

    def rng(self, stream: int) -> random.Random:
        """An independent random stream for one step (so steps don't disturb each other)."""
        return random.Random(self.seed * 1_000_003 + stream)

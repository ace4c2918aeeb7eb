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
"""

from __future__ import annotations

import json
import math
import random
import re
from bisect import bisect_right
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from itertools import accumulate
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Table, delete, func, insert, select, text
from sqlalchemy.orm import Session

from shop.db.schema import (
    Base,
    Brand,
    Category,
    Customer,
    Interaction,
    Offer,
    OfferCode,
    OfferEvent,
    Order,
    OrderItem,
    OrderStatusEvent,
    Policy,
    Product,
    ProductVariant,
    Return,
    Review,
)
from tools.demo import vocab
from tools.demo.offer_response import generate_offers
from tools.demo.policy_texts import seed_policies
from tools.demo.profiles import PRICE_LEVELS, CustomerProfile

T = TypeVar("T")

# --------------------------------------------------------------------------- sizes
BASE_PRODUCTS = 5_200
BASE_CUSTOMERS = 2_200
BASE_ORDERS = 10_600
BASE_BROWSE_SESSIONS = 8_000
MIN_PRODUCTS_PER_CATEGORY = 3
MIN_CUSTOMERS = 20
MIN_ORDERS = 30
MIN_BROWSE_SESSIONS = 20
HISTORY_DAYS = 730
INSERT_CHUNK = 5_000

PERSONA_CUSTOMER_ID = 1
PERSONA_EMAIL = "alex.rivera@example.com"
PERSONA_ORDER_KEYS = ("returnable", "expired", "processing", "shipped")

FREE_SHIPPING_THRESHOLD_CENTS = 7_500
STANDARD_SHIPPING_CENTS = 595
EXPRESS_SHIPPING_CENTS = 1_995

# Share of the catalog (and of demand) per category slug.
CATEGORY_WEIGHTS: dict[str, float] = {
    "jackets": 9, "fleece": 6, "t-shirts": 9, "shirts": 5, "hoodies": 5, "pants": 7,
    "shorts": 5, "base-layers": 4, "hiking-boots": 6, "trail-shoes": 5, "sneakers": 5,
    "sandals": 3, "socks": 6, "hats": 4, "gloves": 3, "backpacks": 6, "tents": 3,
    "sleeping-bags": 3,
}
APPAREL = frozenset({"jackets", "fleece", "t-shirts", "shirts", "hoodies", "pants", "shorts",
                     "base-layers", "gloves"})
FOOTWEAR = frozenset({"hiking-boots", "trail-shoes", "sneakers", "sandals"})

COLOUR_WEIGHTS: dict[str, float] = {
    "black": 10, "navy": 7, "blue": 6, "red": 4, "green": 5, "olive": 4, "grey": 7, "white": 4,
    "beige": 3, "orange": 3, "yellow": 2, "purple": 2, "pink": 2, "brown": 3, "teal": 3,
}
STYLE_WEIGHTS = (0.35, 0.30, 0.15, 0.20)  # aligned with vocab.STYLES

MODEL_NAMES = (
    "Ridgeline", "Cascade", "Summit", "Torrent", "Nimbus", "Basalt", "Aspen", "Juniper",
    "Sequoia", "Talus", "Scree", "Cirrus", "Zephyr", "Boulder", "Canyon", "Meridian",
    "Horizon", "Glacier", "Tamarack", "Switchback", "Traverse", "Cairn", "Alpenglow",
    "Pinnacle", "Drift", "Ember", "Fernwood", "Harbor", "Highline", "Keystone", "Larch",
    "Lookout", "Monarch", "Northwind", "Outpost", "Pathfinder", "Quarry", "Saddle",
    "Timberline", "Updraft", "Vantage", "Wayfarer", "Yarrow", "Bristlecone", "Coyote",
    "Dune", "Flint", "Gale", "Heron", "Ibex", "Larkspur", "Mesa", "Redwood", "Sable",
    "Tor", "Vista", "Willow", "Crestline", "Bluebird", "Solstice",
)
MODEL_SUFFIXES = ("", "", "", "", " 2", " 3", " Pro", " Lite", " LT", " Hybrid", " Plus", " Ultra")
TITLE_ADJECTIVES = ("waterproof", "windproof", "insulated", "packable", "lightweight", "warm",
                    "cushioned", "breathable", "stretch")
# noun -> (features it always has, use-cases it always serves)
NOUN_HINTS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "Rain Jacket": (("waterproof", "hooded"), ("rain",)),
    "Shell": (("waterproof", "windproof"), ("hiking",)),
    "Parka": (("insulated", "hooded"), ("winter",)),
    "Down Jacket": (("insulated", "packable"), ("winter",)),
    "Rain Pants": (("water repellent",), ("rain",)),
    "Ski Pants": (("water repellent",), ("skiing",)),
    "Climbing Pants": (("gusseted crotch",), ("climbing",)),
    "Winter Boot": (("insulated", "waterproof"), ("winter",)),
    "Backpacking Boot": (("ankle support",), ("backpacking",)),
    "Running Shorts": (("built-in liner",), ("trail running",)),
    "Board Shorts": (("quick-dry",), ("summer",)),
    "Ski Socks": ((), ("skiing",)),
    "Running Socks": ((), ("trail running",)),
    "Hiking Socks": (("cushioned",), ("hiking",)),
    "Sun Hat": (("UPF 50",), ("summer",)),
    "Beanie": (("fleece lined",), ("winter",)),
    "Balaclava": ((), ("skiing",)),
    "Ski Gloves": (("waterproof", "insulated"), ("skiing",)),
    "Mittens": (("insulated",), ("winter",)),
    "Hydration Pack": (("hydration compatible",), ("trail running",)),
    "Travel Pack": (("laptop sleeve",), ("travel",)),
    "Backpacking Tent": (("three-season",), ("backpacking",)),
    "Ultralight Tent": (("three-season",), ("backpacking",)),
    "Trail Runner": (("grippy lugs",), ("trail running",)),
    "Approach Shoe": (("grippy lugs",), ("climbing",)),
    "Flannel Shirt": ((), ("camping",)),
    "Travel Shirt": (("wrinkle resistant",), ("travel",)),
}
WEIGHT_RANGES_G: dict[str, tuple[int, int]] = {
    "jackets": (250, 900), "fleece": (200, 500), "t-shirts": (100, 220), "shirts": (180, 350),
    "hoodies": (350, 700), "pants": (250, 600), "shorts": (120, 300), "base-layers": (120, 280),
    "hiking-boots": (700, 1500), "trail-shoes": (500, 800), "sneakers": (600, 900),
    "sandals": (300, 700), "socks": (50, 110), "hats": (40, 150), "gloves": (60, 250),
    "backpacks": (500, 2200), "tents": (900, 4000), "sleeping-bags": (600, 2000),
}
APPAREL_FITS = ("regular", "regular", "slim", "relaxed", "athletic")
FOOTWEAR_FITS = ("regular", "regular", "regular", "wide", "narrow")
TIER_PRICE_BANDS = ((0.0, 0.38), (0.28, 0.68), (0.58, 1.0))

FIRST_NAMES = {
    "men": ("James", "Michael", "David", "Daniel", "Matthew", "Ryan", "Ethan", "Noah", "Liam",
            "Lucas", "Oliver", "Samuel", "Benjamin", "Jacob", "Henry", "Owen", "Leo", "Mateo",
            "Marcus", "Tyler", "Aaron", "Nathan", "Felix", "Jonas", "Lars", "Pierre", "Tom",
            "Omar", "Raj", "Kenji"),
    "women": ("Emma", "Olivia", "Sophia", "Ava", "Isabella", "Mia", "Charlotte", "Amelia",
              "Harper", "Ella", "Grace", "Chloe", "Lily", "Zoe", "Hannah", "Nora", "Maya",
              "Sara", "Julia", "Elena", "Freya", "Clara", "Ingrid", "Camille", "Aisha",
              "Priya", "Yuki", "Lucia", "Megan", "Rachel"),
}
LAST_NAMES = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Martinez",
    "Lopez", "Wilson", "Anderson", "Taylor", "Thomas", "Moore", "Martin", "Lee", "Thompson",
    "White", "Harris", "Clark", "Lewis", "Walker", "Young", "Allen", "King", "Wright", "Scott",
    "Green", "Baker", "Adams", "Nelson", "Hill", "Campbell", "Mitchell", "Roberts", "Carter",
    "Phillips", "Evans", "Turner", "Parker", "Collins", "Edwards", "Stewart", "Morris", "Murphy",
    "Cook", "Rogers", "Morgan", "Peterson", "Cooper", "Reed", "Bailey", "Bell", "Kelly",
    "Howard", "Ward", "Cox", "Fischer", "Schmidt", "Dubois", "Jansen", "Lindqvist", "O'Brien",
    "Nakamura", "Patel", "Kim", "Nguyen", "Silva", "Rossi",
)
# (city, country code, postcode prefix, weight)
CITIES: tuple[tuple[str, str, str, float], ...] = (
    ("New York", "US", "100", 8), ("Los Angeles", "US", "900", 6), ("Chicago", "US", "606", 5),
    ("Seattle", "US", "981", 6), ("Denver", "US", "802", 6), ("Portland", "US", "972", 5),
    ("Boston", "US", "021", 4), ("Austin", "US", "787", 4), ("San Francisco", "US", "941", 5),
    ("Salt Lake City", "US", "841", 4), ("Minneapolis", "US", "554", 3), ("Atlanta", "US", "303", 3),
    ("Vancouver", "CA", "V6B", 4), ("Toronto", "CA", "M5V", 4), ("Calgary", "CA", "T2P", 3),
    ("Montreal", "CA", "H2X", 2), ("London", "GB", "SE1", 5), ("Manchester", "GB", "M1", 2),
    ("Edinburgh", "GB", "EH1", 2), ("Bristol", "GB", "BS1", 1.5), ("Berlin", "DE", "10", 2.5),
    ("Munich", "DE", "80", 2), ("Paris", "FR", "750", 2), ("Lyon", "FR", "690", 1),
    ("Amsterdam", "NL", "10", 2), ("Dublin", "IE", "D0", 1.5), ("Stockholm", "SE", "11", 1.5),
    ("Innsbruck", "AT", "60", 1),
)
STREET_NAMES = ("Maple", "Oak", "Cedar", "Pine", "Elm", "Alder", "Birch", "Willow", "Lake",
                "Hill", "Park", "River", "Spruce", "Aspen", "Laurel", "Union", "Mill", "Church")
LOCAL_STREETS = {
    "DE": ("Linden", "Berg", "Garten", "Schiller", "Goethe", "Wald", "Hafen"),
    "AT": ("Linden", "Berg", "Garten", "Museum", "Anich", "Maria-Theresien"),
    "FR": ("de la Paix", "Victor Hugo", "des Lilas", "du Moulin", "Saint-Michel", "de la Gare"),
    "NL": ("Prinsen", "Keizers", "Heren", "Linden", "Rozen", "Bloem"),
    "SE": ("Drottning", "Kungs", "Sveavägen", "Horns", "Götgatan"),
}
CARRIERS = {
    "US": ("UPS", "USPS", "FedEx"), "CA": ("Canada Post", "UPS"), "GB": ("Royal Mail", "DPD"),
    "IE": ("An Post", "DHL"), "DE": ("DHL", "DPD"), "AT": ("DHL", "DPD"), "FR": ("DHL", "DPD"),
    "NL": ("DHL", "DPD"), "SE": ("DHL", "DPD"),
}
COUNTRY_CALLING = {"US": "1", "CA": "1", "GB": "44", "IE": "353", "DE": "49", "AT": "43",
                   "FR": "33", "NL": "31", "SE": "46"}

RETURN_REASON_WEIGHTS = (
    ("too small", 0.28), ("too big", 0.24), ("changed my mind", 0.22),
    ("not as described", 0.14), ("arrived damaged", 0.07), ("other", 0.05),
)
OTHER_RETURN_REASONS = ("Colour looks different in person", "Ordered two sizes, keeping one",
                        "Arrived too late for my trip", "Found a better fit elsewhere")

REVIEW_TITLES: dict[int, tuple[str, ...]] = {
    5: ("Love it", "Absolutely perfect", "Best {noun} I've owned", "Exceeded my expectations",
        "Worth every penny", "Five stars", "Fantastic quality"),
    4: ("Really good", "Solid {noun}", "Very happy with it", "Great, with one small gripe",
        "Does the job well", "Nice {noun}"),
    3: ("It's okay", "Decent but not amazing", "Mixed feelings", "Average {noun}",
        "Fine for the price"),
    2: ("Disappointed", "Not what I expected", "Wouldn't buy again", "Quality could be better"),
    1: ("Fell apart quickly", "Very poor quality", "Sent it back", "Save your money"),
}
REVIEW_OPENERS: dict[int, tuple[str, ...]] = {
    5: ("I've used this {noun} for {use} for a few months and it's been flawless.",
        "Exactly what I was looking for{for_use}.", "Couldn't be happier with this {noun}.",
        "My second purchase from {brand} and it did not disappoint."),
    4: ("Good {noun} overall and I'd recommend it{for_use}.",
        "Does pretty much everything I wanted{for_use}.", "Really nice {noun}, just not perfect.",
        "Happy with this purchase from {brand}."),
    3: ("It's an okay {noun}, nothing special.",
        "Does the job{for_use}, but I expected more from {brand}.",
        "Some things I like about it, some I don't."),
    2: ("I wanted to like this {noun} but it fell short.", "Not great{for_use}.",
        "Expected better quality from {brand}."),
    1: ("This {noun} was a real letdown.", "Broke after only a couple of uses.",
        "Honestly one of the worst purchases I've made."),
}
REVIEW_DETAILS: dict[str, dict[str, tuple[str, ...]]] = {
    "apparel": {
        "pos": ("True to size and the {material} feels great.",
                "The fit is spot on and the colour looks even better in person.",
                "Comfortable all day and it washes well."),
        "neu": ("Runs slightly small, so consider sizing up.", "Runs a little large in the body.",
                "The {material} is fine but a bit thin."),
        "neg": ("Runs very small; the sizing chart is way off.",
                "The stitching started coming apart after two washes.",
                "The {material} pilled badly within weeks."),
    },
    "footwear": {
        "pos": ("Comfortable straight out of the box, no break-in needed.",
                "Great grip on wet rock and the fit is true to size.",
                "Supportive and light, my feet felt fresh after a long day."),
        "neu": ("A little narrow in the toe box.", "Comfortable enough, but the laces keep coming undone.",
                "Took a couple of weeks to break in."),
        "neg": ("Gave me blisters on the first outing.", "The sole started peeling off within a month.",
                "Sizing is inconsistent; I had to go a full size up."),
    },
    "socks": {
        "pos": ("Warm, soft and no blisters even on long days.", "They dry fast and don't smell."),
        "neu": ("Nice, but they slide down a bit.", "Good cushioning, a little thick for summer."),
        "neg": ("Holes in the heel after a few wears.", "Scratchy and they lost their shape fast."),
    },
    "accessory": {
        "pos": ("Fits well and keeps me comfortable outdoors.", "Well made and the {material} feels premium."),
        "neu": ("Does its job, though the fit is a bit loose.", "Fine, but not as warm as I hoped."),
        "neg": ("The seams came loose almost immediately.", "Fits poorly and feels cheap."),
    },
    "pack": {
        "pos": ("Carries heavy loads comfortably and the pockets are well thought out.",
                "Great back ventilation and plenty of room."),
        "neu": ("Good capacity, but the hip belt could use more padding.",
                "Decent pack, a bit heavy for its size."),
        "neg": ("A zipper broke on the first trip.", "The straps dig into my shoulders after an hour."),
    },
    "tent": {
        "pos": ("Sets up in minutes and stayed dry through a night of heavy rain.",
                "Roomy inside and surprisingly light."),
        "neu": ("Roomy, but it packs down bigger than I hoped.", "Fine in calm weather; flaps a lot in wind."),
        "neg": ("Leaked at the seams in the first storm.", "A pole snapped on the second trip."),
    },
    "bag": {
        "pos": ("Kept me warm right down to the rated temperature.", "Lofty, warm and packs small."),
        "neu": ("Warm enough, but the zipper snags.", "A little tight in the shoulders."),
        "neg": ("I was cold well above the rated temperature.", "Lost a lot of loft after a few nights."),
    },
}
REVIEW_CLOSERS: dict[int, tuple[str, ...]] = {
    5: ("Highly recommend!", "Already thinking of getting another colour.", ""),
    4: ("Would buy again.", "Recommended.", ""),
    3: ("Fine for the price.", ""),
    2: ("Probably won't buy again.", ""),
    1: ("Avoid.", "I'm returning it.", ""),
}


# --------------------------------------------------------------------------- results


@dataclass
class DemoStats:
    """What :func:`generate_demo_shop` wrote.

    ``counts``: table name -> rows inserted, plus ``policies_added`` (policies seeded now)
    and ``policies`` (policies in the shop). ``persona_orders``: the demo persona's order
    numbers by role: ``"returnable"`` (delivered 5 days before ``as_of``), ``"expired"``
    (delivered 60 days before, outside the 30-day window), ``"processing"`` (placed 1 day
    before, cancellable) and ``"shipped"`` (in transit, with a tracking number).
    ``truth``: customer id -> hidden :class:`CustomerProfile` (not in the database).
    """

    seed: int
    scale: float
    as_of: datetime
    counts: dict[str, int]
    persona_customer_id: int
    persona_email: str
    persona_orders: dict[str, str]
    truth: dict[int, CustomerProfile] = field(repr=False, default_factory=dict)

    def truth_json(self) -> dict[str, dict[str, Any]]:
        """``{"<customer id>": profile dict}`` for every customer, by id."""
        return {str(cid): self.truth[cid].as_json() for cid in sorted(self.truth)}

    def write_truth(self, path: str | Path) -> Path:
        """Write :meth:`truth_json` to ``path`` (UTF-8 JSON, parents created); returns the path."""
        out = Path(path)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(self.truth_json(), indent=1, sort_keys=False), encoding="utf-8")
        return out


class ShopNotEmptyError(RuntimeError):
    """The database already holds products; generate only into an empty shop."""


# --------------------------------------------------------------------------- helpers


@dataclass(slots=True)
class _Variant:
    id: int
    size: str | None
    colour: str | None
    price_cents: int


@dataclass(slots=True)
class _Product:
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
    variants: dict[tuple[str, str], _Variant]


@dataclass(slots=True)
class _Customer:
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
class _OrderSpec:
    placed_at: datetime
    customer: _Customer
    lines: list[tuple[_Product, _Variant, int]]
    method: str
    events: list[tuple[str, datetime, str | None]]
    persona_key: str | None = None


def _pick(rng: random.Random, items: Sequence[T], cum: Sequence[float]) -> T:
    """One of ``items`` drawn with cumulative weights ``cum`` (same length)."""
    i = bisect_right(cum, rng.random() * cum[-1])
    return items[min(i, len(items) - 1)]


def _cum(weights: Iterable[float]) -> list[float]:
    return list(accumulate(weights))


def _sample_distinct(rng: random.Random, items: Sequence[T], weights: Sequence[float], k: int) -> list[T]:
    """``k`` distinct items drawn by weight, in draw order (k <= len(items))."""
    pool = list(items)
    w = list(weights)
    out: list[T] = []
    for _ in range(min(k, len(pool))):
        i = min(bisect_right(_cum(w), rng.random() * sum(w)), len(pool) - 1)
        out.append(pool.pop(i))
        w.pop(i)
    return out


def _poisson(rng: random.Random, lam: float) -> int:
    """A Poisson draw (Knuth's method; fine for the small rates used here)."""
    limit, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def slugify(value: str) -> str:
    """``"Alpine Crest Ridgeline 2"`` -> ``"alpine-crest-ridgeline-2"`` (ASCII a-z0-9 and dashes)."""
    value = value.lower().replace("&", " and ").replace("'", "")
    return re.sub(r"[^a-z0-9]+", "-", value).strip("-")


def _psych_price(dollars: float, rng: random.Random) -> int:
    """A shelf price in cents near ``dollars``: 24.99, 129.95, 129.99 or 130.00."""
    if dollars < 30:
        return max(2, round(dollars)) * 100 - 1
    base = max(5, round(dollars / 5.0) * 5)
    r = rng.random()
    if r < 0.6:
        return base * 100 - 5
    if r < 0.85:
        return base * 100 - 1
    return base * 100


def _chars(rng: random.Random, alphabet: str, k: int) -> str:
    """``k`` random characters from ``alphabet``."""
    return "".join(rng.choice(alphabet) for _ in range(k))


def _seconds(value: float) -> timedelta:
    return timedelta(seconds=int(value))


def _progress(iterable: Iterable[T], *, desc: str, total: int | None, enabled: bool) -> Iterator[T]:
    if not enabled:
        yield from iterable
        return
    from tqdm import tqdm

    yield from tqdm(iterable, desc=desc, total=total, unit="row", leave=False, mininterval=0.3)


def _normalise_as_of(as_of: datetime) -> datetime:
    if as_of.tzinfo is not None:
        as_of = as_of.astimezone(timezone.utc).replace(tzinfo=None)
    return as_of.replace(microsecond=0)


def _scaled(base: int, scale: float, minimum: int) -> int:
    return max(minimum, round(base * scale))


# --------------------------------------------------------------------------- database helpers

GENERATED_TABLES: tuple[type[Base], ...] = (
    Category, Brand, Product, ProductVariant, Customer, Order, OrderItem, OrderStatusEvent,
    Return, Review, Interaction,
)


def reset_sequences(session: Session, tables: Iterable[Table] | None = None) -> None:
    """Move PostgreSQL id sequences past the largest id in each table.

    Needed after inserts with explicit ids, so later ORM inserts don't collide. Does
    nothing on other databases. ``tables``: default every table of the schema with an
    integer ``id`` primary key.
    """
    if session.get_bind().dialect.name != "postgresql":
        return
    for table in tables if tables is not None else Base.metadata.sorted_tables:
        if "id" not in table.c or not table.c.id.primary_key:
            continue
        seq = session.scalar(text("SELECT pg_get_serial_sequence(:t, 'id')"), {"t": table.name})
        if not seq:
            continue
        session.execute(
            text(f'SELECT setval(:seq, COALESCE((SELECT MAX(id) FROM "{table.name}"), 0) + 1, false)'),
            {"seq": seq},
        )


def shop_product_count(session: Session) -> int:
    """Number of products in the database (0 for a fresh shop)."""
    return int(session.scalar(select(func.count()).select_from(Product)) or 0)


def clear_shop(session: Session) -> None:
    """Delete every generated row (catalog, customers, orders, returns, reviews,
    interactions, offers and their codes and logged decisions), children first.
    Policies are kept (``seed_policies`` only adds missing ones)."""
    for model in (OfferEvent, OfferCode, Offer):
        session.execute(delete(model))
    for model in reversed(GENERATED_TABLES):
        session.execute(delete(model))
    session.flush()


def _bulk_insert(session: Session, model: type[Base], rows: list[dict[str, Any]], *, progress: bool) -> None:
    table: Table = model.__table__  # type: ignore[assignment]
    chunks = range(0, len(rows), INSERT_CHUNK)
    bar = None
    if progress and len(rows) > INSERT_CHUNK:
        from tqdm import tqdm

        bar = tqdm(total=len(rows), desc=f"insert {table.name}", unit="row", leave=False)
    for start in chunks:
        chunk = rows[start:start + INSERT_CHUNK]
        session.execute(insert(table), chunk)
        if bar is not None:
            bar.update(len(chunk))
    if bar is not None:
        bar.close()


# --------------------------------------------------------------------------- the generator


class _Generator:
    """Holds the state of one generation run; use :func:`generate_demo_shop`."""

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
        self.cat_cum = _cum(CATEGORY_WEIGHTS[c.slug] for c in self.cats)
        self.colour_names = list(vocab.COLOURS)
        self.colour_cum = _cum(COLOUR_WEIGHTS.get(c, 1.0) for c in self.colour_names)
        self.products: list[_Product] = []
        self.customers: list[_Customer] = []
        self.customer_cum: list[float] = []
        self.pools: dict[tuple[int, str], dict[int, tuple[list[_Product], list[float]]]] = {}
        self.brand_cache: dict[tuple[int, int], tuple[list[int], list[float]]] = {}
        self.orders: list[_OrderSpec] = []
        self.rows: dict[str, list[dict[str, Any]]] = {}

    def rng(self, stream: int) -> random.Random:
        """An independent random stream for one step (so steps don't disturb each other)."""
        return random.Random(self.seed * 1_000_003 + stream)

    # ------------------------------------------------------------------ catalog

    def build_catalog(self) -> None:
        rng = self.rng(1)
        n_total = _scaled(BASE_PRODUCTS, self.scale, MIN_PRODUCTS_PER_CATEGORY * len(self.cats))
        weight_sum = sum(CATEGORY_WEIGHTS.values())
        counts = [max(MIN_PRODUCTS_PER_CATEGORY, round(n_total * CATEGORY_WEIGHTS[c.slug] / weight_sum))
                  for c in self.cats]
        # The first MIN_PRODUCTS_PER_CATEGORY of each category exist before the history starts.
        plan: list[tuple[int, bool]] = []
        for ci, n in enumerate(counts):
            plan.extend((ci, k < MIN_PRODUCTS_PER_CATEGORY) for k in range(n))
        rng.shuffle(plan)

        self.rows["categories"] = [
            {"id": i + 1, "slug": c.slug, "name": c.name, "parent_id": None} for i, c in enumerate(self.cats)
        ]
        self.rows["brands"] = [
            {"id": i + 1, "slug": b.slug, "name": b.name} for i, b in enumerate(self.brands)
        ]
        product_rows: list[dict[str, Any]] = []
        variant_rows: list[dict[str, Any]] = []
        handles: dict[str, int] = {}
        variant_id = 0
        for pid, (ci, early) in enumerate(
            _progress(plan, desc="products", total=len(plan), enabled=self.progress), start=1
        ):
            cat = self.cats[ci]
            bi = rng.randrange(len(self.brands))
            brand = self.brands[bi]
            if cat.gendered:
                g = rng.random()
                gender = "men" if g < 0.45 else "women" if g < 0.9 else "unisex"
            else:
                gender = "unisex"
            quality = rng.gauss(0.0, 1.0)
            pop = math.exp(0.7 * quality + rng.gauss(0.0, 0.6))
            noun = rng.choice(cat.nouns)
            model = rng.choice(MODEL_NAMES) + rng.choice(MODEL_SUFFIXES)
            hint_features, hint_uses = NOUN_HINTS.get(noun, ((), ()))
            features = list(hint_features)
            for f in rng.sample(cat.features, min(len(cat.features), rng.randint(2, 4))):
                if f not in features:
                    features.append(f)
            uses = list(hint_uses)
            for u in rng.sample(cat.use_cases, min(len(cat.use_cases), rng.randint(1, 3))):
                if u not in uses:
                    uses.append(u)
            material = rng.choice(cat.materials)
            style = brand.style if rng.random() < 0.75 else rng.choice(vocab.STYLES)
            adjectives = [f for f in features if f in TITLE_ADJECTIVES and f.lower() not in noun.lower()]
            adj = f"{adjectives[0].title()} " if adjectives and rng.random() < 0.45 else ""
            who = {"men": "Men's ", "women": "Women's "}.get(gender, "")
            title = f"{brand.name} {who}{model} {adj}{noun}"
            handle = slugify(title)
            if handle in handles:
                handles[handle] += 1
                handle = f"{handle}-{handles[handle]}"
            handles.setdefault(handle, 1)
            if "winter" in uses or "skiing" in uses or "insulated" in features:
                season = "winter"
            elif "four-season" in features:
                season = "four-season"
            elif "three-season" in features:
                season = "three-season"
            elif "summer" in uses:
                season = "summer"
            else:
                season = "all-season"
            lo_w, hi_w = WEIGHT_RANGES_G[cat.slug]
            weight_g = round((lo_w + (hi_w - lo_w) * rng.random()) / 10.0) * 10
            attributes: dict[str, Any] = {
                "material": material,
                "features": features,
                "season": season,
                "style": style,
                "use_cases": uses,
                "weight_g": weight_g,
            }
            if cat.slug in APPAREL:
                attributes["fit"] = rng.choice(APPAREL_FITS)
            elif cat.slug in FOOTWEAR:
                attributes["fit"] = "wide" if "wide fit" in features else rng.choice(FOOTWEAR_FITS)

            # price: category range x brand tier band, nudged by quality
            band_lo, band_hi = TIER_PRICE_BANDS[brand.tier]
            pos = band_lo + (band_hi - band_lo) * rng.random() + 0.04 * quality
            pos = min(1.0, max(0.0, pos))
            lo, hi = cat.price
            list_price = _psych_price(lo + (hi - lo) * pos, rng)
            price, compare_at = list_price, None
            if rng.random() < 0.18:
                discount = rng.choice((0.15, 0.2, 0.25, 0.3, 0.4))
                sale = _psych_price(list_price * (1 - discount) / 100.0, rng)
                if sale < list_price:
                    price, compare_at = sale, list_price

            description = self._description(rng, brand=brand, model=model, noun=noun, uses=uses,
                                            material=material, features=features, season=season,
                                            fit=attributes.get("fit"), style=style, weight_g=weight_g)
            if early:
                created = self.window_start - timedelta(days=rng.uniform(5, 200))
            elif rng.random() < 0.85:
                created = self.window_start - timedelta(days=rng.uniform(1, 200))
            else:
                created = self.as_of - timedelta(days=rng.uniform(14, HISTORY_DAYS - 10))
            created = created.replace(microsecond=0)
            updated = created + _seconds((self.as_of - created).total_seconds() * rng.random() * 0.9)

            # variants: size x colour
            sizes = list(cat.sizes)
            if cat.sizes == vocab.APPAREL_SIZES:
                if rng.random() < 0.3:
                    sizes.remove("XS")
                if rng.random() < 0.2:
                    sizes.remove("XXL")
            elif cat.sizes == vocab.SHOE_SIZES:
                if gender == "women":
                    sizes = [s for s in sizes if s not in ("12", "13")]
                elif gender == "men":
                    sizes = [s for s in sizes if s != "6"]
            n_colours = _pick(rng, (1, 2, 3, 4), (2, 6, 9, 11))
            colours = _sample_distinct(rng, self.colour_names, [COLOUR_WEIGHTS[c] for c in self.colour_names],
                                       n_colours)
            sku = f"{''.join(w[0] for w in brand.slug.split('-')).upper()}-{cat.slug[:3].upper()}-{pid:05d}"
            variants: dict[tuple[str, str], _Variant] = {}
            for si, size in enumerate(sizes):
                extra = 0
                if cat.slug == "tents":
                    extra = si * (4000 + 1000 * brand.tier)
                elif cat.slug == "sleeping-bags" and size == "Long":
                    extra = 2000
                for colour in colours:
                    variant_id += 1
                    middle = 1.0 - abs(si - (len(sizes) - 1) / 2) / max(1, len(sizes))
                    stock = 0 if rng.random() < 0.12 else min(150, int(rng.expovariate(1 / 16) * (0.5 + middle)) + 1)
                    variant_rows.append({
                        "id": variant_id, "product_id": pid,
                        "sku": f"{sku}-{slugify(size).upper()}-{colour.upper()}",
                        "size": size, "colour": colour,
                        "price_cents": price + extra if extra else None, "stock": stock,
                    })
                    variants[(size, colour)] = _Variant(variant_id, size, colour, price + extra)
            product_rows.append({
                "id": pid, "sku": sku, "handle": handle, "title": title, "description": description,
                "brand_id": bi + 1, "category_id": ci + 1, "gender": gender,
                "price_cents": price, "compare_at_cents": compare_at, "currency": vocab.CURRENCY,
                "attributes": attributes, "image_url": f"/static/products/{handle}.svg",
                "rating_avg": None, "rating_count": 0, "is_active": True,
                "created_at": created, "updated_at": updated,
            })
            self.products.append(_Product(
                id=pid, cat=ci, brand=bi, gender=gender, quality=quality, pop=pop, created_at=created,
                title=title, noun=noun, material=material, use_cases=uses, sizes=sizes,
                colours=colours, variants=variants,
            ))
        self.rows["products"] = product_rows
        self.rows["product_variants"] = variant_rows
        self._build_pools()

    def _description(self, rng: random.Random, *, brand: vocab.Brand, model: str, noun: str,
                     uses: list[str], material: str, features: list[str], season: str,
                     fit: str | None, style: str, weight_g: int) -> str:
        uses_text = " and ".join(uses[:2]) if len(uses) <= 2 else f"{', '.join(uses[:-1])} and {uses[-1]}"
        feats = features[:3]
        feats_text = feats[0] if len(feats) == 1 else f"{', '.join(feats[:-1])} and {feats[-1]}"
        first = rng.choice((
            f"The {model} {noun.lower()} from {brand.name} is a {style} piece built for {uses_text}.",
            (f"Built for {uses_text}, the {brand.name} {model} is a {style} {noun.lower()} "
             "you'll reach for again and again."),
            f"Meet the {model}: a {style} {noun.lower()} by {brand.name}, made for {uses_text}.",
        ))
        second = rng.choice((
            f"It's made from {material} and features {feats_text}.",
            f"Made from {material}, it comes with {feats_text}.",
        ))
        sentences = [first, second]
        if rng.random() < 0.7:
            season_text = {"all-season": "a year-round", "three-season": "a three-season",
                           "four-season": "a four-season", "winter": "a cold-weather",
                           "summer": "a warm-weather"}[season]
            sentences.append(f"It's {season_text} pick that weighs about {weight_g} g.")
        if rng.random() < 0.6:
            if fit:
                sentences.append(f"Cut for a {fit} fit.")
            elif brand.tier == 2:
                sentences.append(f"Backed by the {brand.name} lifetime warranty.")
            else:
                sentences.append("Great value for weekend adventures.")
        return " ".join(sentences)

    def _build_pools(self) -> None:
        """Index products by (category, shopper gender) and brand, weighted by popularity."""
        groups: dict[tuple[int, str], list[_Product]] = {}
        for p in self.products:
            for g in ("men", "women", "any"):
                if g == "any" or p.gender in (g, "unisex"):
                    groups.setdefault((p.cat, g), []).append(p)
        for key in sorted(groups):
            members = groups[key]
            pool: dict[int, tuple[list[_Product], list[float]]] = {-1: (members, _cum(p.pop for p in members))}
            by_brand: dict[int, list[_Product]] = {}
            for p in members:
                by_brand.setdefault(p.brand, []).append(p)
            for bi in sorted(by_brand):
                pool[bi] = (by_brand[bi], _cum(p.pop for p in by_brand[bi]))
            self.pools[key] = pool

    def _pool(self, cat: int, gender: str) -> dict[int, tuple[list[_Product], list[float]]]:
        return self.pools.get((cat, gender)) or self.pools[(cat, "any")]

    def sample_product(self, rng: random.Random, customer: _Customer | None, *, before: datetime,
                       cat: int | None = None) -> _Product:
        """A product a shopper looks at or buys at time ``before``: category from the
        hidden favourites (80%) or overall demand, brand from the hidden affinities (75%)
        or popularity, then a product by popularity (which follows quality)."""
        for _attempt in range(8):
            if cat is None:
                if customer is not None and rng.random() < 0.8:
                    c = _pick(rng, customer.fav_slugs, customer.fav_cum)
                else:
                    c = _pick(rng, range(len(self.cats)), self.cat_cum)
            else:
                c = cat
            gender = customer.profile.gender if customer is not None else "any"
            pool = self._pool(c, gender)
            if customer is not None and rng.random() < 0.75:
                key = (customer.id, c)
                cached = self.brand_cache.get(key)
                if cached is None:
                    brands = sorted(b for b in pool if b >= 0)
                    aff = customer.profile.brand_affinity
                    cached = (brands, _cum(aff[self.brands[b].slug] for b in brands))
                    self.brand_cache[key] = cached
                members, cum = pool[_pick(rng, cached[0], cached[1])]
            else:
                members, cum = pool[-1]
            product = _pick(rng, members, cum)
            if product.created_at <= before:
                return product
        members = [p for p in self._pool(c, "any")[-1][0] if p.created_at <= before]
        if members:
            return members[0]
        return min(self.products, key=lambda p: (p.created_at, p.id))

    # ------------------------------------------------------------------ customers

    def _profile(self, rng: random.Random, gender: str | None = None) -> CustomerProfile:
        gender = gender or ("men" if rng.random() < 0.5 else "women")
        style = _pick(rng, vocab.STYLES, _cum(STYLE_WEIGHTS))
        level = _pick(rng, PRICE_LEVELS, _cum((0.35, 0.45, 0.20)))
        tier = PRICE_LEVELS.index(level)
        k = 2 if rng.random() < 0.5 else 3
        favs = _sample_distinct(rng, [c.slug for c in self.cats],
                                [CATEGORY_WEIGHTS[c.slug] for c in self.cats], k)
        gammas = [rng.gammavariate(1.5, 1.0) for _ in favs]
        total = sum(gammas)
        fav_weights = {slug: round(g / total, 4) for slug, g in zip(favs, gammas, strict=True)}
        raw: list[float] = []
        for b in self.brands:
            a = 3.0 if b.style == style else 1.0
            a *= 2.5 if b.tier == tier else (1.0 if abs(b.tier - tier) == 1 else 0.3)
            raw.append(a * rng.lognormvariate(0.0, 0.4))
        total = sum(raw)
        affinity = {b.slug: round(w / total, 4) for b, w in zip(self.brands, raw, strict=True)}
        if gender == "men":
            apparel = _pick(rng, ("XS", "S", "M", "L", "XL", "XXL"), _cum((3, 10, 30, 33, 18, 6)))
            shoe = _pick(rng, ("7", "8", "9", "10", "11", "12", "13"), _cum((4, 10, 22, 28, 20, 11, 5)))
        else:
            apparel = _pick(rng, ("XS", "S", "M", "L", "XL", "XXL"), _cum((12, 30, 33, 17, 6, 2)))
            shoe = _pick(rng, ("6", "7", "8", "9", "10", "11"), _cum((18, 30, 28, 15, 6, 3)))
        colours = tuple(_sample_distinct(rng, self.colour_names,
                                         [COLOUR_WEIGHTS[c] for c in self.colour_names], 2))
        activity = round(rng.lognormvariate(0.0, 0.8), 4)
        return CustomerProfile(gender, style, level, fav_weights, affinity, apparel, shoe, colours, activity)

    def _address(self, rng: random.Random, country: str, prefix: str) -> tuple[str, str | None, str]:
        n = rng.randint(1, 2999)
        if country in ("US", "CA"):
            kind = rng.choice(("Street", "Avenue", "Road", "Boulevard", "Drive"))
            line1 = f"{n} {rng.choice(STREET_NAMES)} {kind}"
        elif country in ("GB", "IE"):
            kind = rng.choice(("Road", "Street", "Lane", "Close"))
            line1 = f"{rng.randint(1, 250)} {rng.choice(STREET_NAMES)} {kind}"
        elif country in ("DE", "AT"):
            line1 = f"{rng.choice(LOCAL_STREETS[country])}straße {rng.randint(1, 140)}"
        elif country == "FR":
            line1 = f"{rng.randint(1, 140)} rue {rng.choice(LOCAL_STREETS['FR'])}"
        elif country == "NL":
            line1 = f"{rng.choice(LOCAL_STREETS['NL'])}straat {rng.randint(1, 300)}"
        else:
            line1 = f"{rng.choice(LOCAL_STREETS['SE'])} {rng.randint(1, 90)}"
        line2 = None
        if rng.random() < 0.18:
            line2 = {"US": f"Apt {rng.randint(1, 40)}{rng.choice('ABCD')}",
                     "CA": f"Unit {rng.randint(100, 2400)}",
                     "GB": f"Flat {rng.randint(1, 30)}"}.get(country, f"{rng.randint(1, 6)}. floor")

        def digits(k: int) -> str:
            return _chars(rng, "0123456789", k)

        def letters(k: int) -> str:
            return _chars(rng, "ABCEGHJKLMNPRSTVXY", k)

        if country == "US":
            postcode = prefix + digits(2)
        elif country == "CA":
            postcode = f"{prefix} {digits(1)}{letters(1)}{digits(1)}"
        elif country == "GB":
            postcode = f"{prefix} {digits(1)}{letters(2)}"
        elif country in ("DE", "FR"):
            postcode = prefix + digits(5 - len(prefix))
        elif country == "NL":
            postcode = f"{prefix}{digits(2)} {letters(2)}"
        elif country == "IE":
            postcode = f"{prefix}{rng.randint(1, 9)} {letters(1)}{digits(3)}"
        elif country == "SE":
            postcode = f"{prefix}{digits(1)} {digits(2)}"
        else:
            postcode = prefix + digits(2)
        return line1, line2, postcode

    def build_customers(self) -> None:
        rng = self.rng(2)
        n = _scaled(BASE_CUSTOMERS, self.scale, MIN_CUSTOMERS)
        city_cum = _cum(c[3] for c in CITIES)
        rows: list[dict[str, Any]] = []
        weights: list[float] = []
        for cid in _progress(range(1, n + 1), desc="customers", total=n, enabled=self.progress):
            if cid == PERSONA_CUSTOMER_ID:
                profile = self._persona_profile(rng)
                first, last, city, country = "Alex", "Rivera", "Portland", "US"
                line1, line2, postcode = "1208 Alder Street", "Apt 3B", "97205"
                email, phone = PERSONA_EMAIL, "+1-555-0142"
                created = self.as_of - timedelta(days=800, hours=5)
                opt_in = True
            else:
                profile = self._profile(rng)
                first = rng.choice(FIRST_NAMES[profile.gender])
                last = rng.choice(LAST_NAMES)
                city, country, prefix, _w = _pick(rng, CITIES, city_cum)
                line1, line2, postcode = self._address(rng, country, prefix)
                local = f"{re.sub(r'[^a-z]', '', first.lower())}.{re.sub(r'[^a-z]', '', last.lower())}{cid}"
                email = f"{local}@example.com"
                phone = (f"+{COUNTRY_CALLING[country]}-555-01{rng.randint(0, 99):02d}"
                         if rng.random() < 0.7 else None)
                days_ago = 900 * rng.random() ** 0.6 + 1
                created = (self.as_of - timedelta(days=days_ago)).replace(microsecond=0)
                opt_in = rng.random() < 0.4
            favs = [self.cat_index[s] for s in profile.favourite_categories]
            cust = _Customer(cid, first, last, city, country, postcode, line1, line2, created, profile,
                             favs, _cum(profile.favourite_categories.values()))
            self.customers.append(cust)
            start = max(created, self.window_start)
            span_days = max(0.0, (self.as_of - start).total_seconds() / 86400 - 1)
            weights.append(0.0 if cid == PERSONA_CUSTOMER_ID else profile.activity * span_days)
            rows.append({
                "id": cid, "email": email, "first_name": first, "last_name": last, "phone": phone,
                "city": city, "country": country, "marketing_opt_in": opt_in, "created_at": created,
            })
        self.customer_cum = _cum(weights)
        self.rows["customers"] = rows

    def _persona_profile(self, rng: random.Random) -> CustomerProfile:
        base = self._profile(rng, gender="women")
        raw = []
        for b in self.brands:
            a = (3.0 if b.style == "technical" else 1.0) * (2.5 if b.tier == 1 else 1.0)
            raw.append(a)
        total = sum(raw)
        return CustomerProfile(
            gender="women", style="technical", price_level="mid",
            favourite_categories={"hiking-boots": 0.45, "jackets": 0.35, "backpacks": 0.2},
            brand_affinity={b.slug: round(w / total, 4) for b, w in zip(self.brands, raw, strict=True)},
            apparel_size="M", shoe_size="8", colours=("green", "navy"), activity=base.activity + 2.0,
        )

    # ------------------------------------------------------------------ orders

    def _variant_for(self, rng: random.Random, product: _Product, customer: _Customer) -> _Variant:
        slug = self.cats[product.cat].slug
        prof = customer.profile
        size = None
        if slug == "socks":
            shoe = int(prof.shoe_size)
            wanted = "S" if shoe <= 7 else "M" if shoe <= 10 else "L"
            size = wanted if wanted in product.sizes else None
        elif slug in FOOTWEAR:
            size = prof.shoe_size if prof.shoe_size in product.sizes else None
        elif slug in APPAREL:
            size = prof.apparel_size if prof.apparel_size in product.sizes else None
        if size is None or rng.random() < 0.08:
            size = rng.choice(product.sizes)
        liked = [c for c in prof.colours if c in product.colours]
        colour = liked[0] if liked and rng.random() < 0.6 else rng.choice(product.colours)
        return product.variants[(size, colour)]

    def _carrier(self, rng: random.Random, country: str) -> str:
        return rng.choice(CARRIERS.get(country, ("DHL",)))

    @staticmethod
    def _tracking(rng: random.Random, carrier: str) -> str:
        def digits(k: int) -> str:
            return _chars(rng, "0123456789", k)

        def alnum(k: int) -> str:
            return _chars(rng, "0123456789ABCDEFGHJKLMNPRSTUVWXYZ", k)

        if carrier == "UPS":
            return f"1Z{alnum(6)}03{digits(8)}"
        if carrier == "USPS":
            return f"9400{digits(18)}"
        if carrier == "FedEx":
            return digits(12)
        if carrier == "Canada Post":
            return digits(16)
        if carrier == "Royal Mail":
            return f"{rng.choice('ABCDFHJKLMNPRTUVWY')}{rng.choice('ABCDFHJKLMNPRTUVWY')}{digits(9)}GB"
        if carrier == "An Post":
            return f"CE{digits(9)}IE"
        if carrier == "DPD":
            return digits(14)
        return digits(10)

    def _timeline(self, rng: random.Random, placed: datetime, *, method: str, country: str,
                  cancel: bool) -> list[tuple[str, datetime, str | None]]:
        events: list[tuple[str, datetime, str | None]] = [("pending", placed, "order placed")]
        processing = placed + _seconds(rng.uniform(120, 2700))
        events.append(("processing", processing, "payment confirmed"))
        if cancel:
            at = processing + _seconds(rng.uniform(1200, 18 * 3600))
            events.append(("cancelled", at, rng.choice(("cancelled by customer", "cancelled by customer",
                                                         "cancelled: item no longer needed",
                                                         "cancelled: payment issue"))))
        else:
            shipped = processing + _seconds(rng.uniform(2, 16) * 3600 if method == "express"
                                            else rng.uniform(4, 40) * 3600)
            events.append(("shipped", shipped, None))
            if method == "express":
                transit = rng.uniform(1, 2.5)
            elif country == "US":
                transit = rng.uniform(2, 6)
            else:
                transit = rng.uniform(5, 12)
            events.append(("delivered", shipped + _seconds(transit * 86400), None))
        return [e for e in events if e[1] <= self.as_of]

    def build_orders(self) -> None:
        rng = self.rng(3)
        n = _scaled(BASE_ORDERS, self.scale, MIN_ORDERS)
        specs: list[_OrderSpec] = []
        for _ in _progress(range(n), desc="orders", total=n, enabled=self.progress):
            cust = _pick(rng, self.customers, self.customer_cum)
            start = max(cust.created_at, self.window_start) + timedelta(hours=1)
            span = (self.as_of - timedelta(minutes=10) - start).total_seconds()
            while True:  # mild growth trend and a holiday peak, by rejection
                placed = start + _seconds(span * rng.random())
                frac = (placed - self.window_start).total_seconds() / (HISTORY_DAYS * 86400)
                factor = (0.7 + 0.3 * max(0.0, frac)) * (1.4 if placed.month in (11, 12) else 1.0)
                if rng.random() < factor / 1.4:
                    break
            n_items = _pick(rng, (1, 2, 3, 4), _cum((55, 28, 12, 5)))
            lines: list[tuple[_Product, _Variant, int]] = []
            seen: list[int] = []
            for _i in range(n_items):
                product = self.sample_product(rng, cust, before=placed)
                if product.id in seen:
                    continue
                seen.append(product.id)
                variant = self._variant_for(rng, product, cust)
                slug = self.cats[product.cat].slug
                qty = rng.choice((1, 1, 2, 3)) if slug == "socks" else (2 if rng.random() < 0.05 else 1)
                lines.append((product, variant, qty))
            method = "express" if rng.random() < 0.12 else "standard"
            events = self._timeline(rng, placed, method=method, country=cust.country,
                                    cancel=rng.random() < 0.03)
            specs.append(_OrderSpec(placed, cust, lines, method, events))
        specs.extend(self._persona_orders(self.rng(4)))
        # number orders in order of placement (ties by generation order: the sort is stable)
        specs.sort(key=lambda s: s.placed_at)
        self.orders = specs
        self._order_rows(self.rng(5))

    def _persona_pick(self, cat_slug: str, customer: _Customer, before: datetime, skip: int = 0) -> _Product:
        pool = self._pool(self.cat_index[cat_slug], customer.profile.gender)[-1][0]
        ok = sorted((p for p in pool if p.created_at <= before), key=lambda p: (-p.pop, p.id))
        if not ok:
            ok = sorted(self._pool(self.cat_index[cat_slug], "any")[-1][0], key=lambda p: (p.created_at, p.id))
        return ok[min(skip, len(ok) - 1)]

    def _persona_variant(self, product: _Product, customer: _Customer) -> _Variant:
        """The persona's size in her favourite colour if the product has them, preferring stock."""
        rng = random.Random(product.id)
        return self._variant_for(rng, product, customer)

    def _persona_orders(self, rng: random.Random) -> list[_OrderSpec]:
        alex = self.customers[PERSONA_CUSTOMER_ID - 1]
        a = self.as_of

        def lines(*picks: tuple[str, int, int], before: datetime) -> list[tuple[_Product, _Variant, int]]:
            out = []
            for slug, skip, qty in picks:
                p = self._persona_pick(slug, alex, before, skip)
                out.append((p, self._persona_variant(p, alex), qty))
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
            specs.append(_OrderSpec(placed, alex, lines(*picks, before=placed), "standard",
                                    delivered(placed, shipped, shipped + timedelta(days=3, hours=4))))
        # expired: delivered 60 days before as_of
        d_exp = a - timedelta(days=60, hours=2)
        placed = d_exp - timedelta(days=4, hours=6)
        specs.append(_OrderSpec(placed, alex, lines(("backpacks", 0, 1), ("fleece", 1, 1), before=placed),
                                "standard", delivered(placed, d_exp - timedelta(days=3), d_exp),
                                persona_key="expired"))
        # returnable: delivered 5 days before as_of, no socks
        d_ret = a - timedelta(days=5, hours=3)
        placed = d_ret - timedelta(days=4, hours=2)
        specs.append(_OrderSpec(placed, alex, lines(("jackets", 0, 1), ("hiking-boots", 0, 1), before=placed),
                                "standard", delivered(placed, d_ret - timedelta(days=3), d_ret),
                                persona_key="returnable"))
        # shipped: in transit
        placed = a - timedelta(days=3, hours=5)
        shipped = a - timedelta(days=1, hours=20)
        specs.append(_OrderSpec(placed, alex, lines(("trail-shoes", 0, 1), before=placed), "standard",
                                [("pending", placed, "order placed"),
                                 ("processing", placed + timedelta(minutes=25), "payment confirmed"),
                                 ("shipped", shipped, None)], persona_key="shipped"))
        # processing: placed 1 day ago, cancellable
        placed = a - timedelta(days=1)
        specs.append(_OrderSpec(placed, alex, lines(("t-shirts", 1, 1), ("socks", 0, 2), before=placed),
                                "standard", [("pending", placed, "order placed"),
                                             ("processing", placed + timedelta(minutes=14), "payment confirmed")],
                                persona_key="processing"))
        return specs

    def _order_rows(self, rng: random.Random) -> None:
        order_rows, item_rows, event_rows = [], [], []
        self.persona_orders: dict[str, str] = {}
        self.order_items: list[tuple[int, _OrderSpec, _Product, _Variant, int, int]] = []
        item_id = event_id = 0
        for oid, spec in enumerate(self.orders, start=1):
            number = str(100000 + oid)
            if spec.persona_key:
                self.persona_orders[spec.persona_key] = number
            cust = spec.customer
            subtotal = 0
            for product, variant, qty in spec.lines:
                item_id += 1
                subtotal += variant.price_cents * qty
                item_rows.append({
                    "id": item_id, "order_id": oid, "product_id": product.id, "variant_id": variant.id,
                    "title": product.title, "size": variant.size, "colour": variant.colour,
                    "quantity": qty, "unit_price_cents": variant.price_cents,
                })
                self.order_items.append((item_id, spec, product, variant, qty, oid))
            if spec.method == "express":
                shipping = EXPRESS_SHIPPING_CENTS
            else:
                shipping = 0 if subtotal >= FREE_SHIPPING_THRESHOLD_CENTS else STANDARD_SHIPPING_CENTS
            status = spec.events[-1][0]
            shipped_at = next((at for s, at, _n in spec.events if s == "shipped"), None)
            delivered_at = next((at for s, at, _n in spec.events if s == "delivered"), None)
            carrier = tracking = None
            if shipped_at is not None:
                persona = cust.id == PERSONA_CUSTOMER_ID
                carrier = "UPS" if persona else self._carrier(rng, cust.country)
                tracking = self._tracking(rng, carrier)
            for status_name, at, note in spec.events:
                event_id += 1
                if status_name == "shipped":
                    note = f"shipped with {carrier}, tracking {tracking}"
                elif status_name == "delivered":
                    note = "delivered"
                event_rows.append({"id": event_id, "order_id": oid, "status": status_name, "at": at, "note": note})
            order_rows.append({
                "id": oid, "number": number, "customer_id": cust.id, "status": status,
                "currency": vocab.CURRENCY, "subtotal_cents": subtotal, "shipping_cents": shipping,
                "total_cents": subtotal + shipping, "placed_at": spec.placed_at,
                "shipped_at": shipped_at, "delivered_at": delivered_at,
                "shipping_method": spec.method, "carrier": carrier, "tracking_number": tracking,
                "ship_name": f"{cust.first} {cust.last}", "ship_line1": cust.line1, "ship_line2": cust.line2,
                "ship_city": cust.city, "ship_postcode": cust.postcode, "ship_country": cust.country,
            })
        self.rows["orders"] = order_rows
        self.rows["order_items"] = item_rows
        self.rows["order_status_events"] = event_rows

    # ------------------------------------------------------------------ returns & reviews

    def build_returns(self) -> None:
        rng = self.rng(6)
        reason_names = [r for r, _w in RETURN_REASON_WEIGHTS]
        reason_cum = _cum(w for _r, w in RETURN_REASON_WEIGHTS)
        pending: list[tuple[datetime, dict[str, Any]]] = []
        for item_id, spec, product, variant, qty, oid in self.order_items:
            delivered_at = spec.events[-1][1] if spec.events[-1][0] == "delivered" else None
            if delivered_at is None or spec.customer.id == PERSONA_CUSTOMER_ID:
                continue
            if self.cats[product.cat].slug == "socks":
                continue
            p = 0.085 * min(2.5, max(0.4, math.exp(-0.5 * product.quality)))
            if rng.random() >= p:
                continue
            requested = delivered_at + _seconds(rng.uniform(1, 29) * 86400)
            if requested > self.as_of:
                continue
            age_days = (self.as_of - requested).total_seconds() / 86400
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
            reason = _pick(rng, reason_names, reason_cum)
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
        self.rows["returns"] = rows

    def build_reviews(self) -> None:
        rng = self.rng(7)
        buyers: dict[int, list[tuple[int, datetime]]] = {}
        for _item_id, spec, product, _variant, _qty, _oid in self.order_items:
            if spec.events[-1][0] == "delivered":
                buyers.setdefault(product.id, []).append((spec.customer.id, spec.events[-1][1]))
        mean_pop = sum(p.pop for p in self.products) / len(self.products)
        pending: list[tuple[datetime, int, dict[str, Any]]] = []
        product_rows = self.rows["products"]
        n_customers = len(self.customers)
        for idx, product in enumerate(_progress(self.products, desc="reviews", total=len(self.products),
                                                enabled=self.progress)):
            lam = 0.6 + 3.2 * min(2.5, product.pop / mean_pop)
            n = min(8, _poisson(rng, lam))
            if (self.as_of - product.created_at).days < 5:
                n = 0
            candidates = list(buyers.get(product.id, []))
            rng.shuffle(candidates)
            used: list[int] = []
            ratings: list[int] = []
            for _k in range(n):
                reviewer: int | None = None
                at: datetime | None = None
                while candidates:
                    cid, delivered_at = candidates.pop()
                    if cid in used:
                        continue
                    when = delivered_at + _seconds(rng.uniform(2, 60) * 86400)
                    if when <= self.as_of:
                        reviewer, at = cid, when
                        break
                if reviewer is None:
                    for _try in range(5):
                        cid = rng.randint(2, n_customers) if n_customers > 1 else 1
                        if cid not in used:
                            reviewer = cid
                            break
                    if reviewer is None:
                        continue
                    lo = max(product.created_at, self.customers[reviewer - 1].created_at) + timedelta(days=2)
                    if lo >= self.as_of:
                        continue
                    at = lo + _seconds((self.as_of - lo).total_seconds() * rng.random())
                used.append(reviewer)
                mu = min(4.9, max(1.5, 4.0 + 0.75 * product.quality))
                rating = int(min(5, max(1, round(rng.gauss(mu, 0.8)))))
                ratings.append(rating)
                title, body = self._review_text(rng, product, rating)
                pending.append((at, len(pending), {
                    "product_id": product.id, "customer_id": reviewer, "rating": rating,
                    "title": title, "body": body, "created_at": at,
                }))
            if ratings:
                product_rows[idx]["rating_avg"] = sum(ratings) / len(ratings)
                product_rows[idx]["rating_count"] = len(ratings)
        pending.sort(key=lambda t: (t[0], t[1]))
        self.rows["reviews"] = [{"id": i, **row} for i, (_at, _n, row) in enumerate(pending, start=1)]

    def _review_text(self, rng: random.Random, product: _Product, rating: int) -> tuple[str, str]:
        slug = self.cats[product.cat].slug
        group = ("footwear" if slug in FOOTWEAR else "apparel" if slug in APPAREL and slug != "gloves"
                 else "socks" if slug == "socks" else "accessory" if slug in ("hats", "gloves")
                 else "pack" if slug == "backpacks" else "tent" if slug == "tents" else "bag")
        noun = product.noun.lower()
        use = rng.choice(product.use_cases)
        fmt = {"noun": noun, "brand": self.brands[product.brand].name, "use": use,
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

    # ------------------------------------------------------------------ interactions

    def build_interactions(self) -> None:
        rng = self.rng(8)
        events: list[tuple[datetime, int, int | None, str, int, str, str]] = []
        seq = 0

        def add(at: datetime, cid: int | None, sid: str, pid: int, kind: str, source: str) -> None:
            nonlocal seq
            seq += 1
            events.append((at, seq, cid, sid, pid, kind, source))

        def session_id() -> str:
            return f"{rng.getrandbits(128):032x}"

        for spec in _progress(self.orders, desc="order sessions", total=len(self.orders), enabled=self.progress):
            sid = session_id()
            cid = spec.customer.id
            source = "app" if rng.random() < 0.25 else "web"
            placed = spec.placed_at
            for _extra in range(rng.randint(0, 3)):
                t = placed - _seconds(rng.uniform(15, 60) * 60)
                p = self.sample_product(rng, spec.customer, before=t)
                add(t, cid, sid, p.id, "view", source)
            for product, _variant, _qty in spec.lines:
                t_view = placed - _seconds(rng.uniform(3, 40) * 60)
                if rng.random() < 0.4:
                    add(t_view - _seconds(rng.uniform(2, 60)), cid, sid, product.id, "click", source)
                add(t_view, cid, sid, product.id, "view", source)
                add(placed - _seconds(rng.uniform(60, 170)), cid, sid, product.id, "add_to_cart", source)
                add(placed, cid, sid, product.id, "purchase", source)

        n_sessions = _scaled(BASE_BROWSE_SESSIONS, self.scale, MIN_BROWSE_SESSIONS)
        browse_cum = _cum(c.profile.activity * max(0.0, (self.as_of - max(c.created_at, self.window_start)).days)
                          for c in self.customers)
        for _s in _progress(range(n_sessions), desc="browse sessions", total=n_sessions, enabled=self.progress):
            anonymous = rng.random() < 0.12
            cust = None if anonymous else _pick(rng, self.customers, browse_cum)
            start = self.window_start if cust is None else max(cust.created_at, self.window_start)
            t = start + _seconds((self.as_of - timedelta(hours=1) - start).total_seconds() * rng.random())
            sid = session_id()
            source = _pick(rng, ("web", "app", "email"), (0.62, 0.92, 1.0))
            focus = None
            if cust is not None and rng.random() < 0.6:
                focus = _pick(rng, cust.fav_slugs, cust.fav_cum)
            for _k in range(min(12, 1 + int(rng.expovariate(1 / 4.0)))):
                cat = focus if focus is not None and rng.random() < 0.8 else None
                product = self.sample_product(rng, cust, before=t, cat=cat)
                cid = cust.id if cust else None
                if rng.random() < 0.55:
                    add(t, cid, sid, product.id, "click", source)
                    t += _seconds(rng.uniform(1, 5))
                add(t, cid, sid, product.id, "view", source)
                if rng.random() < 0.1:
                    t += _seconds(rng.uniform(20, 200))
                    add(t, cid, sid, product.id, "add_to_cart", source)
                t += _seconds(rng.uniform(20, 240))
                if t > self.as_of:
                    break
        events = [e for e in events if e[0] <= self.as_of]
        events.sort(key=lambda e: (e[0], e[1]))
        self.rows["interactions"] = [
            {"id": i, "customer_id": cid, "session_id": sid, "product_id": pid, "kind": kind, "at": at,
             "source": source}
            for i, (at, _seq, cid, sid, pid, kind, source) in enumerate(events, start=1)
        ]

    # ------------------------------------------------------------------ write

    def write(self, session: Session) -> dict[str, int]:
        order = ("categories", "brands", "products", "product_variants", "customers", "orders",
                 "order_items", "order_status_events", "returns", "reviews", "interactions")
        models = {m.__tablename__: m for m in GENERATED_TABLES}
        counts: dict[str, int] = {}
        for name in order:
            rows = self.rows[name]
            _bulk_insert(session, models[name], rows, progress=self.progress)
            counts[name] = len(rows)
        reset_sequences(session, [models[name].__table__ for name in order])  # type: ignore[misc]
        return counts


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
    as_of = _normalise_as_of(as_of)
    gen = _Generator(seed=seed, as_of=as_of, scale=scale, progress=progress)
    gen.build_catalog()
    gen.build_customers()
    gen.build_orders()
    gen.build_returns()
    gen.build_reviews()
    gen.build_interactions()
    counts = gen.write(session)

    counts.update(generate_offers(session, seed=seed, as_of=as_of, truth={c.id: c.profile for c in gen.customers}))
    counts["policies_added"] = seed_policies(session, now=as_of)
    counts["policies"] = int(session.scalar(select(func.count()).select_from(Policy)) or 0)
    session.flush()
    return DemoStats(
        seed=seed, scale=scale, as_of=as_of, counts=counts,
        persona_customer_id=PERSONA_CUSTOMER_ID, persona_email=PERSONA_EMAIL,
        persona_orders=dict(sorted(gen.persona_orders.items())),
        truth={c.id: c.profile for c in gen.customers},
    )

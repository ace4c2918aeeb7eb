"""An invented marketplace catalog, shaped like a large general marketplace's raw export,
and the evaluation of sub-category-name queries on it (issue 17's search goal).

The export this imitates has the columns ``name, main_category, sub_category, image,
link, ratings, no_of_ratings, discount_price, actual_price``: ~11,000 listings in ~20
departments and ~110 sub-categories, long keyword-stuffed titles (brand + model +
specs + features + colour), rupee prices, no brand, stock or description column. Titles
are generated from :mod:`tools.search_eval.marketplace_vocab` (invented brands, generic
nouns); nothing is copied from a real file.

What makes it hard, on purpose:

- sub-categories share vocabulary ("Men's Shoes", "Sports Shoes", "Casual Shoes",
  "Running" and "Shoes" all list running shoes; "Lunch Box" is both "Kitchen & Dining"
  and "Kitchen Storage & Containers");
- catch-all and storefront sub-categories ("All Electronics", "Value Bazaar",
  "Refurbished & Open Box") list products that look like other sub-categories';
- titles rarely say the category's own words ("Air Conditioners" sell "Split AC");
- some listings appear in two sub-categories (same link): the product is imported once,
  under the first, and is relevant to both.

**Seeds vary the vocabulary**: brands are invented per seed, each sub-category keeps a
random subset of its nouns, specs and features, its size (lognormal), its borrowed
share and the cross-listing rate are drawn, and a few sub-categories are left out. Tune
on one seed, report another as held out (``bench/search_marketplace.py``).

:func:`load_catalog` writes the products straight into a migrated shop database
(category = sub-category; with ``with_parents`` the department becomes the parent
category), one in-stock variant each; :func:`write_csv` writes the raw export, which
:func:`~tools.search_eval.marketplace_shop.prepare_shop` can also import with the
shop's own importer (``via="importer"``).

:func:`evaluate` runs every sub-category name as a text-only query (limit 10) through
the dense, keyword and hybrid backends: precision@10 (relevant: the product is listed
in the query's sub-category), queries with no results, and latency. The names can also
be typed as shoppers type them (:func:`typed_form`: "mens shoe", "home decor") or with a
typo (:func:`typo_form`).
"""

from __future__ import annotations

import csv
import math
import random
import re
import statistics
import tempfile
import time
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from shop.db.schema import Category, Product, ProductVariant
from shop.services.search.query import SearchQuery
from tools.search_eval.marketplace_vocab import COLOURS, DEPARTMENTS, STUFFING, SYLLABLES, Sub

GENERATOR_VERSION = 1
MIN_LISTINGS = 12
MAX_LISTINGS = 280
MEDIAN_LISTINGS = 80
DROP_SHARE = 0.05
CREATED = datetime(2026, 1, 1)
CACHE_ROOT = Path(tempfile.gettempdir()) / "ridgeline-marketplace"
_CHOICE = re.compile(r"\{([^{}]*)\}")


# ---------------------------------------------------------------------------- listings


@dataclass(frozen=True)
class Listing:
    """One row of the raw export, plus the numbers its strings were made from."""

    name: str
    main_category: str
    sub_category: str
    image: str
    link: str
    ratings: str
    no_of_ratings: str
    discount_price: str
    actual_price: str
    price: int  # rupees
    mrp: int
    rating: float | None
    rating_count: int

    def row(self) -> dict[str, str]:
        return {"name": self.name, "main_category": self.main_category, "sub_category": self.sub_category,
                "image": self.image, "link": self.link, "ratings": self.ratings,
                "no_of_ratings": self.no_of_ratings, "discount_price": self.discount_price,
                "actual_price": self.actual_price}


CSV_COLUMNS = ("name", "main_category", "sub_category", "image", "link", "ratings", "no_of_ratings",
               "discount_price", "actual_price")


def expand(template: str, rng: random.Random) -> str:
    """``template`` with each ``{a|b|c}`` replaced by one choice and ``{3-9}`` by a number."""

    def one(match: re.Match[str]) -> str:
        body = match.group(1)
        if re.fullmatch(r"\d+-\d+", body) and "|" not in body:
            low, high = (int(x) for x in body.split("-"))
            return str(rng.randint(low, high))
        return rng.choice(body.split("|"))

    return _CHOICE.sub(one, template)


def _options(text: str) -> list[str]:
    """Split a ``"a|b|{c|d} e"`` list at top-level bars only."""
    out: list[str] = []
    depth, current = 0, ""
    for ch in text:
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        if ch == "|" and depth == 0:
            out.append(current)
            current = ""
        else:
            current += ch
    if current:
        out.append(current)
    return [o.strip() for o in out if o.strip()]


def _rupees(value: int) -> str:
    """``32999`` -> ``"₹32,999"`` (Indian grouping for lakhs: ``"₹1,29,999"``)."""
    digits = str(value)
    if len(digits) > 3:
        head, tail = digits[:-3], digits[-3:]
        groups: list[str] = []
        while len(head) > 2:
            groups.insert(0, head[-2:])
            head = head[:-2]
        if head:
            groups.insert(0, head)
        digits = ",".join(groups) + "," + tail
    return f"₹{digits}"


@dataclass
class _Style:
    """One sub-category as drawn for a seed."""

    sub: Sub
    department: str
    kinds: list[str]
    specs: list[str]
    feats: list[str]
    auds: list[str]
    brands: list[str]
    size: int
    catch: float
    price: tuple[int, int]


def _brand(rng: random.Random) -> str:
    name = "".join(rng.choice(SYLLABLES) for _ in range(rng.choice((2, 2, 3))))
    style = rng.random()
    if style < 0.6:
        return name.capitalize()
    if style < 0.75:
        return name.upper()[:6]
    if style < 0.9:
        return name[:-1] + name[-1].upper() if len(name) > 2 else name  # "boAt"-like casing
    return f"{name.capitalize()} {rng.choice(('India', 'Home', 'Tech', 'Wear', 'Pro', 'Lifestyle'))}"


def _subset(rng: random.Random, items: list[str], share: float, minimum: int) -> list[str]:
    keep = max(min(minimum, len(items)), round(len(items) * share))
    return rng.sample(items, keep) if keep < len(items) else list(items)


_PRICE_BANDS = {
    "appliances": (1_500, 60_000), "tv, audio & cameras": (399, 70_000), "computers & accessories": (199, 90_000),
    "mobiles": (149, 45_000), "car & motorbike": (99, 9_000), "sports, fitness & outdoors": (149, 40_000),
    "home & kitchen": (99, 25_000), "men's shoes": (299, 7_000), "women's shoes": (249, 4_000),
    "men's clothing": (199, 4_000), "women's clothing": (199, 5_000), "kids' fashion": (149, 2_500),
    "toys & baby products": (149, 12_000), "bags & luggage": (199, 9_000), "accessories": (149, 60_000),
    "beauty & health": (99, 6_000), "grocery & gourmet foods": (49, 2_000), "pet supplies": (99, 4_000),
    "industrial supplies": (99, 15_000), "music": (499, 50_000), "stores": (99, 30_000),
    "office products": (49, 20_000),
}


def _styles(rng: random.Random, scale: float, departments: Sequence[str] | None) -> dict[str, _Style]:
    shared = [_brand(rng) for _ in range(6)]
    styles: dict[str, _Style] = {}
    for department, subs in DEPARTMENTS.items():
        if departments is not None and department not in departments:
            continue
        brands = [_brand(rng) for _ in range(rng.randint(6, 14))]
        kept = [s for s in subs if rng.random() >= DROP_SHARE] or [subs[0]]
        for sub in kept:
            catch = sub.catch
            if catch >= 0.5:
                catch = rng.uniform(catch - 0.1, min(1.0, catch + 0.05))
            elif catch > 0:
                catch = rng.uniform(0.5 * catch, 1.6 * catch)
            size = MEDIAN_LISTINGS * math.exp(rng.gauss(0.0, 0.55)) * scale
            low = max(4, round(MIN_LISTINGS * min(1.0, scale * 4)))
            lo, hi = _PRICE_BANDS.get(department, (99, 9_999))
            a, b = sorted((rng.uniform(math.log(lo), math.log(hi)), rng.uniform(math.log(lo), math.log(hi))))
            styles[sub.name] = _Style(
                sub=sub, department=department,
                kinds=_subset(rng, _options(sub.kinds), rng.uniform(0.6, 1.0), 2),
                specs=_subset(rng, _options(sub.specs), rng.uniform(0.6, 1.0), 1),
                feats=_subset(rng, _options(sub.feats), rng.uniform(0.6, 1.0), 1),
                auds=_options(sub.aud), brands=rng.sample(brands, min(len(brands), rng.randint(4, 9)))
                + rng.sample(shared, 1),
                size=int(min(MAX_LISTINGS * max(scale, 0.05), max(low, round(size)))), catch=catch,
                price=(int(math.exp(a)), max(int(math.exp(b)), int(math.exp(a)) + 50)),
            )
    return styles


def _sources(name: str, styles: dict[str, _Style]) -> list[str]:
    """Sub-categories whose products ``name`` also lists (``@department`` expanded; only
    specific ones, never catch-alls, never itself)."""
    out: list[str] = []
    for ref in styles[name].sub.borrow:
        if ref.startswith("@"):
            out += [n for n, s in styles.items() if s.department == ref[1:] and s.sub.catch < 0.5 and n != name]
        elif ref in styles and ref != name:
            out.append(ref)
    return list(dict.fromkeys(out))


def _title(style: _Style, rng: random.Random) -> str:
    brand = rng.choice(style.brands)
    parts = [brand]
    model = rng.random()
    if model < 0.45:
        word = "".join(rng.choice(SYLLABLES) for _ in range(2)).capitalize()
        number = rng.randint(1, 9) * 10 ** rng.randint(0, 2) + rng.randint(0, 9)
        parts.append(f"{word} {number}")
    elif model < 0.7:
        letters = "".join(rng.choice("ABCDEFGHKLMNPRSTVXZ") for _ in range(rng.randint(1, 3)))
        parts.append(f"{letters}-{rng.randint(10, 9999)}")
    if style.auds and rng.random() < 0.8:
        parts.append(rng.choice(style.auds))
    parts.append(expand(rng.choice(style.kinds), rng))
    head = " ".join(p for p in parts if p)
    details = [expand(s, rng) for s in rng.sample(style.specs, min(len(style.specs), rng.randint(1, 4)))]
    feats = [expand(f, rng) for f in rng.sample(style.feats, min(len(style.feats), rng.randint(0, 3)))]
    if feats and rng.random() < 0.5:
        head = f"{head} with {feats.pop(0)}"
    body = ", ".join(details + feats)
    title = f"{head}, {body}" if body else head
    if rng.random() < 0.6:
        title += f" ({rng.choice(COLOURS)})" if rng.random() < 0.7 else f", {rng.choice(COLOURS)}"
    if rng.random() < 0.3:
        title += f" | {expand(rng.choice(STUFFING), rng)}"
    return title[:280]


def _listing(style: _Style, listed_in: str, main: str, rng: random.Random, n: int, seed: int) -> Listing:
    name = _title(style, rng)
    code = f"B0{seed % 100:02d}{n:06d}"
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower())[:60].strip("-")
    lo, hi = style.price
    mrp = int(math.exp(rng.uniform(math.log(lo), math.log(hi))))
    mrp = max(49, mrp - mrp % 10 + 9 if mrp > 100 else mrp)
    price = max(29, int(mrp * rng.uniform(0.3, 0.95)))
    rated = rng.random() < 0.85
    rating = round(min(5.0, max(1.0, rng.gauss(4.0, 0.45))), 1) if rated else None
    count = int(math.exp(rng.uniform(0, 11))) if rated else 0
    return Listing(
        name=name, main_category=main, sub_category=listed_in,
        image=f"https://img.marketplace.example/images/{code}.jpg",
        link=f"https://marketplace.example/{slug}/dp/{code}",
        ratings=f"{rating}" if rating is not None else "", no_of_ratings=f"{count:,}" if rated else "",
        discount_price=_rupees(price) if price < mrp else "", actual_price=_rupees(mrp),
        price=price if price < mrp else mrp, mrp=mrp, rating=rating, rating_count=count,
    )


def generate_listings(seed: int, *, scale: float = 1.0, departments: Sequence[str] | None = None) -> list[Listing]:
    """The raw export for ``seed`` (same seed and arguments: same rows), in file order:
    by department, then sub-category. ``scale`` multiplies the listing counts (1.0:
    ~10,000); ``departments`` keeps only those (names as in
    :data:`~tools.search_eval.marketplace_vocab.DEPARTMENTS`)."""
    if scale <= 0:
        raise ValueError("scale must be positive")
    if departments is not None:
        unknown = sorted(set(departments) - set(DEPARTMENTS))
        if unknown:
            raise ValueError(f"unknown departments {unknown}; known: {sorted(DEPARTMENTS)}")
    rng = random.Random(f"marketplace-{seed}")
    styles = _styles(rng, scale, departments)
    own: dict[str, list[Listing]] = {}
    counter = 0
    plan: dict[str, tuple[int, int]] = {}
    for name, style in styles.items():
        sources = _sources(name, styles)
        borrowed = round(style.size * style.catch) if sources else 0
        plan[name] = (style.size - borrowed, borrowed)
        own[name] = []
        for _ in range(style.size - borrowed):
            counter += 1
            own[name].append(_listing(style, name, style.department, rng, counter, seed))
    cross_rate = rng.uniform(0.15, 0.45)  # share of borrowed listings that are the very same listing
    rows: list[Listing] = []
    for name, style in styles.items():
        rows += own[name]
        sources = _sources(name, styles)
        for _ in range(plan[name][1]):
            source = rng.choice(sources)
            if own[source] and rng.random() < cross_rate:
                original = rng.choice(own[source])
                rows.append(Listing(**{**original.__dict__, "sub_category": name,
                                       "main_category": style.department}))
            else:
                counter += 1
                rows.append(_listing(styles[source], name, style.department, rng, counter, seed))
    return rows


def write_csv(listings: Iterable[Listing], path: Path) -> int:
    """Write the raw export (the marketplace's columns) to ``path``; returns the row count."""
    n = 0
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=CSV_COLUMNS)
        writer.writeheader()
        for listing in listings:
            writer.writerow(listing.row())
            n += 1
    return n


# ---------------------------------------------------------------------------- shop database


def _slug(text: str) -> str:
    text = text.lower().replace("&", " and ").replace("'", "")
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-")[:70] or "category"


@dataclass(frozen=True)
class LoadedCatalog:
    """What :func:`load_catalog` wrote: ``listed_in`` maps product id to every
    sub-category listing it (the first is its category)."""

    products: int
    listed_in: dict[int, frozenset[str]]
    sub_categories: tuple[str, ...]


def load_catalog(session: Session, listings: Sequence[Listing], *, with_parents: bool = False,
                 sku_prefix: str = "MP") -> LoadedCatalog:
    """Write ``listings`` into an empty, migrated shop database as an importer would:
    one product per link (the first listing's sub-category is its category, the others
    are remembered in the result), no brand, price = discount price, compare-at = MRP,
    currency INR, one variant with stock. ``with_parents``: the departments become
    parent categories of the sub-categories."""
    if session.scalar(select(func.count()).select_from(Product)):
        raise ValueError("the shop already has products; load into an empty database")
    used: set[str] = set(session.scalars(select(Category.slug)))
    next_id = int(session.scalar(select(func.coalesce(func.max(Category.id), 0))) or 0)

    def new_category(name: str, parent: int | None, prefix: str = "") -> int:
        nonlocal next_id
        slug = prefix + _slug(name)
        base, i = slug, 2
        while slug in used:
            slug, i = f"{base}-{i}", i + 1
        used.add(slug)
        next_id += 1
        session.execute(insert(Category), [{"id": next_id, "slug": slug, "name": name[:120], "parent_id": parent}])
        return next_id

    parents: dict[str, int] = {}
    subs: dict[str, int] = {}
    for listing in listings:
        if listing.sub_category in subs:
            continue
        parent = None
        if with_parents:
            if listing.main_category not in parents:
                parents[listing.main_category] = new_category(listing.main_category.title(), None, "dept-")
            parent = parents[listing.main_category]
        subs[listing.sub_category] = new_category(listing.sub_category, parent)
    by_link: dict[str, int] = {}
    listed: dict[int, list[str]] = {}
    products: list[dict[str, Any]] = []
    variants: list[dict[str, Any]] = []
    for listing in listings:
        pid = by_link.get(listing.link)
        if pid is not None:
            if listing.sub_category not in listed[pid]:
                listed[pid].append(listing.sub_category)
            continue
        pid = len(products) + 1
        by_link[listing.link] = pid
        listed[pid] = [listing.sub_category]
        sku = f"{sku_prefix}-{pid:06d}"
        products.append({
            "id": pid, "sku": sku, "handle": f"{_slug(listing.name)[:60]}-{pid}", "title": listing.name[:300],
            "description": "", "brand_id": None, "category_id": subs[listing.sub_category], "gender": "unisex",
            "price_cents": listing.price * 100,
            "compare_at_cents": listing.mrp * 100 if listing.mrp > listing.price else None,
            "currency": "INR", "attributes": {"url": listing.link}, "image_url": listing.image,
            "rating_avg": listing.rating, "rating_count": listing.rating_count, "is_active": True,
            "created_at": CREATED, "updated_at": CREATED,
        })
        variants.append({"id": pid, "product_id": pid, "sku": f"{sku}-1", "size": None, "colour": None,
                         "price_cents": None, "stock": 10})
    for start in range(0, len(products), 2_000):
        session.execute(insert(Product), products[start:start + 2_000])
        session.execute(insert(ProductVariant), variants[start:start + 2_000])
    session.flush()
    return LoadedCatalog(len(products), {pid: frozenset(v) for pid, v in listed.items()}, tuple(subs))


# ---------------------------------------------------------------------------- evaluation


@dataclass
class ModeFigures:
    """One backend's figures over the sub-category queries."""

    mode: str
    precision: dict[str, float] = field(default_factory=dict)  # query -> p@10
    empty: list[str] = field(default_factory=list)
    latency_ms: list[float] = field(default_factory=list)

    @property
    def mean_precision(self) -> float:
        return statistics.mean(self.precision.values()) if self.precision else 0.0

    def percentile_ms(self, q: float) -> float:
        values = sorted(self.latency_ms)
        if not values:
            return 0.0
        pos = (len(values) - 1) * q
        low = int(pos)
        high = min(low + 1, len(values) - 1)
        return values[low] + (values[high] - values[low]) * (pos - low)


def precision_at(ids: Sequence[int], query: str, listed_in: dict[int, frozenset[str]], k: int = 10) -> float:
    """Share of the first ``k`` results listed in the sub-category ``query`` (divided by
    ``k``: fewer than ``k`` results count as misses)."""
    return sum(1 for pid in ids[:k] if query in listed_in.get(pid, frozenset())) / k


def typed_form(name: str) -> str:
    """A sub-category name as a shopper types it: lower case, no accents, apostrophes,
    "&" or commas, the last word singular ("Men's Shoes" -> "mens shoe", "Coffee, Tea &
    Beverages" -> "coffee tea beverage", "Home Décor" -> "home decor")."""
    text = unicodedata.normalize("NFKD", name.lower())
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).replace("'", "").replace("\u2019", "")
    words = re.sub(r"[&,/+]", " ", text).split()
    last = words[-1] if words else ""
    if len(last) > 3 and last.endswith("s") and not last.endswith("ss"):
        if last.endswith("ies"):
            words[-1] = last[:-3] + "y"
        elif last.endswith(("ches", "shes", "xes", "sses")):
            words[-1] = last[:-2]
        else:
            words[-1] = last[:-1]
    return " ".join(words)


def typo_form(name: str, seed: int) -> str:
    """:func:`typed_form` with two neighbouring letters of its longest word (5+ letters)
    swapped, the way fingers do ("headphone" -> "haedphone"); the pair depends on ``seed``."""
    words = typed_form(name).split()
    candidates = [i for i, w in enumerate(words) if w.isalpha() and len(w) >= 5]
    if not candidates:
        return " ".join(words)
    longest = max(candidates, key=lambda i: len(words[i]))
    word = words[longest]
    pairs = [i for i in range(1, len(word) - 2) if word[i] != word[i + 1]]
    if pairs:
        i = random.Random(f"{seed}-{name}").choice(pairs)
        words[longest] = word[:i] + word[i + 1] + word[i] + word[i + 2:]
    return " ".join(words)


def evaluate(backends: dict[str, Any], session: Session, queries: Sequence[str],
             listed_in: dict[int, frozenset[str]], *, k: int = 10, repeat: int = 1,
             texts: dict[str, str] | None = None) -> dict[str, ModeFigures]:
    """Run every query (text only, ``limit=k``) through each backend (``{mode:
    ProductSearch}``); latency is the best of ``repeat`` runs per query. ``texts``: what
    to type for a sub-category (default its name; see :func:`typed_form`, :func:`typo_form`)."""
    out: dict[str, ModeFigures] = {}
    for mode, backend in backends.items():
        figures = ModeFigures(mode)
        backend.search(session, SearchQuery(text="warm up", limit=k))
        for text in queries:
            best = math.inf
            ids: list[int] = []
            for _ in range(max(1, repeat)):
                started = time.perf_counter()
                result = backend.search(session, SearchQuery(text=(texts or {}).get(text, text), limit=k))
                best = min(best, (time.perf_counter() - started) * 1000)
                ids = [c.id for c in result.cards]
            figures.latency_ms.append(best)
            figures.precision[text] = precision_at(ids, text, listed_in, k)
            if not ids:
                figures.empty.append(text)
        out[mode] = figures
    return out

"""The frozen set of product questions (``tests/data/product_questions.jsonl``, written
before any tuning) and how an answer to one is scored against the database.

Each item names a topic, a category and what the facts say (``expect``). On a demo
shop, :func:`pick_products` chooses the product(s) an item is asked about, the same
ones every run; for yes/no items it alternates between a product that has the thing
asked about and one that has not, so both answers are tested. :func:`score` returns
whether the final answer is **correct** (agrees with the database, or honestly says the
facts are silent when they are) and **helpful** (answers when the facts do answer).

Used by ``tests/test_product_questions.py`` (template answers, a regression gate) and
``bench/llm_quality.py`` (answers through the real LLM server).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from shop.db.schema import Category, Product
from shop.services.catalog import ProductDetails, product_details

SET_FILE = Path(__file__).resolve().parent / "data" / "product_questions.jsonl"
HOLDOUT_FILE = Path(__file__).resolve().parent / "data" / "product_questions_holdout.jsonl"
FIT_CATEGORIES = ("jackets", "fleece", "t-shirts", "shirts", "hoodies", "pants", "shorts", "base-layers", "gloves",
                  "hiking-boots", "trail-shoes", "sneakers", "sandals")
NEGATIVE = re.compile(r"\b(no|not|doesn't|does not|isn't|is not|don't|aren't|wouldn't|won't|sold out|out of stock|"
                      r"doesn't list|isn't listed|not listed|doesn't come|none left|without)\b", re.I)
UNKNOWN = re.compile(r"(don't know|do not know|doesn't say|does not say|not sure|no information|isn't in the|"
                     r"can't tell|cannot tell|a person|colleague|doesn't mention|does not mention|not mentioned|"
                     r"isn't something|details don't|information doesn't|don't have that|no details)", re.I)
SEASON_WORDS = {
    "all-season": ("all-season", "year-round", "all year", "every season", "all seasons"),
    "three-season": ("three-season", "3-season", "three season"),
    "four-season": ("four-season", "4-season", "four season", "all four seasons"),
    "winter": ("winter", "cold-weather", "cold weather"),
    "summer": ("summer", "warm-weather", "warm weather"),
}


@dataclass(frozen=True)
class Item:
    id: str
    topic: str
    category: str | None
    question: str
    expect: dict[str, Any]


def load_items(path: Path = SET_FILE) -> list[Item]:
    with path.open(encoding="utf-8") as f:
        return [Item(**json.loads(line)) for line in f if line.strip()]


def _stable(text: str) -> int:
    return int(hashlib.sha256(text.encode()).hexdigest()[:8], 16)


def _wants_positive(item: Item) -> bool:
    return _stable(item.id + "/polarity") % 2 == 0


def _has(item: Item, d: ProductDetails) -> bool | None:
    """For yes/no items: whether the product has what is asked about (None: not yes/no)."""
    e = item.expect
    attrs = d.attributes
    features = [str(f).lower() for f in attrs.get("features") or []]
    if "feature" in e:
        return e["feature"].lower() in features
    if "use" in e:
        return e["use"].lower() in [str(u).lower() for u in attrs.get("use_cases") or []]
    if "season" in e:
        season = attrs.get("season")
        if e["season"] == "winter":
            return season in ("winter", "four-season") or "insulated" in features
        return season in ("summer", "all-season", "three-season")
    if "stock" in e:
        size = str(e["stock"]["size"]).lower()
        return any((s or "one size").lower() == size and n > 0 for s, _, n in d.stock)
    return None


def _categories(session: Session, item: Item) -> list[str]:
    if item.category:
        return [item.category]
    slugs = list(session.scalars(select(Category.slug).order_by(Category.slug)))
    if item.expect.get("field") == "fit":
        return [s for s in slugs if s in FIT_CATEGORIES]
    return slugs


def pick_products(session: Session, item: Item) -> list[ProductDetails]:
    """The product (two for compare items) ``item`` is asked about on this shop."""
    cats = _categories(session, item)
    slug = cats[_stable(item.id + "/cat") % len(cats)]
    ids = list(session.scalars(select(Product.id).join(Category, Product.category_id == Category.id)
                               .where(Category.slug == slug, Product.is_active.is_(True)).order_by(Product.id)))
    if not ids:
        raise LookupError(f"no product in {slug} for {item.id}")
    start = _stable(item.id) % len(ids)
    order = ids[start:] + ids[:start]
    if "compare" in item.expect:
        return [product_details(session, product_id=i) for i in order[:2]]
    want = _wants_positive(item)
    first: ProductDetails | None = None
    for pid in order[:60]:
        d = product_details(session, product_id=pid)
        first = first or d
        has = _has(item, d)
        if has is None or has == want:
            return [d]
    assert first is not None
    return [first]


def _number_in(text: str, value: float) -> bool:
    return any(abs(float(n.replace(",", "")) - value) < 0.011 for n in re.findall(r"\d[\d,]*(?:\.\d+)?", text))


def is_unknown(text: str | None) -> bool:
    return text is None or not text.strip() or bool(UNKNOWN.search(text))


def says_yes(text: str) -> bool:
    return bool(re.match(r"\s*yes\b", text, re.I)) or not NEGATIVE.search(text)


@dataclass(frozen=True)
class Score:
    correct: bool
    helpful: bool
    why: str = ""


def score(item: Item, products: list[ProductDetails], text: str | None) -> Score:
    """Score the final answer ``text`` (``None``: the assistant said it doesn't know)."""
    e = item.expect
    d = products[0]
    unknown = is_unknown(text)
    if e.get("unknown"):
        return Score(unknown, unknown, "" if unknown else "answered what the facts don't say")
    if "unknown_unless_described" in e:
        described = e["unknown_unless_described"] in d.description.lower()
        if described:
            ok = not unknown and e["unknown_unless_described"] in (text or "").lower()
            return Score(ok, ok, "" if ok else "the description says it")
        return Score(unknown, unknown, "" if unknown else "answered what the facts don't say")
    if "compare" in e:
        return _score_compare(e["compare"], products, text or "")
    if unknown:
        return Score(False, False, "said it doesn't know")
    t = text or ""
    low = t.lower()
    has = _has(item, d)
    if has is not None:
        ok = says_yes(t) == has
        why = "" if ok else f"said {'yes' if not has else 'no'}, the facts say {'yes' if has else 'no'}"
        return Score(ok, True, why)
    field = e.get("field")
    attrs = d.attributes
    if field == "material":
        ok = str(attrs.get("material", "")).lower() in low
    elif field == "weight_g":
        grams = float(attrs.get("weight_g") or 0)
        ok = _number_in(t, grams) or _number_in(t, round(grams / 1000, 2))
    elif field == "fit":
        ok = bool(attrs.get("fit")) and str(attrs["fit"]).lower() in low
    elif field == "season":
        ok = any(w in low for w in SEASON_WORDS.get(str(attrs.get("season")), (str(attrs.get("season")),)))
    elif field == "price":
        ok = d.card.price in t
    elif field == "rating":
        ok = ((f"{d.card.rating:.1f}" in t) if d.card.rating
              else bool(re.search(r"no (reviews|ratings)|not (yet )?rated", low)))
    else:
        raise ValueError(f"unknown expectation {e}")
    return Score(ok, True, "" if ok else f"{field} not stated right")


def _score_compare(kind: str, products: list[ProductDetails], text: str) -> Score:
    a, b = products[:2]
    if kind == "cheaper":
        right, wrong = (a, b) if a.card.price_cents <= b.card.price_cents else (b, a)
    elif kind == "lighter":
        wa, wb = a.attributes.get("weight_g") or 0, b.attributes.get("weight_g") or 0
        right, wrong = (a, b) if wa <= wb else (b, a)
    else:
        ra, rb = (a.card.rating or 0, a.card.rating_count), (b.card.rating or 0, b.card.rating_count)
        right, wrong = (a, b) if ra >= rb else (b, a)
    # the side-by-side table names both; the answer is in the lines after it, in the
    # sentence about what was asked
    summary = " ".join(line for line in text.splitlines() if not re.match(r"\s*\d+\.\s", line))
    words = {"cheaper": r"cheap|less|lower|price|cost|afford|budget", "lighter": r"light|weigh|grams|\bg\b",
             "better_rated": r"rat|review|star|like"}[kind]
    sentences = [x for x in re.split(r"(?<=[.!?])\s+", summary) if re.search(words, x, re.I)]
    r, w = right.card.title, wrong.card.title
    ok = any(r in x and (w not in x or x.index(r) < x.index(w)) for x in sentences)
    return Score(ok, bool(summary.strip()), "" if ok else f"should name {r}")

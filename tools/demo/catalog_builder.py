"""Catalog stage of the demo-shop generator: categories, brands, products with their
descriptions and prices, and size x colour variants with stock.

Each product gets a hidden latent quality (driving ratings, popularity and returns) and
a popularity; both stay in :class:`~tools.demo.context.DemoProduct` for later stages.
All draws come from the context's stream 1, in a fixed order.
"""

from __future__ import annotations

import math
import random
from datetime import timedelta
from typing import Any

from tools.demo import vocab
from tools.demo.catalog_words import (
    APPAREL_FITS,
    FOOTWEAR_FITS,
    MODEL_NAMES,
    MODEL_SUFFIXES,
    NOUN_HINTS,
    TIER_PRICE_BANDS,
    TITLE_ADJECTIVES,
    WEIGHT_RANGES_G,
)
from tools.demo.context import DemoProduct, DemoVariant, GenContext
from tools.demo.demand import build_pools
from tools.demo.params import (
    APPAREL,
    BASE_PRODUCTS,
    CATEGORY_WEIGHTS,
    COLOUR_WEIGHTS,
    FOOTWEAR,
    HISTORY_DAYS,
    MIN_PRODUCTS_PER_CATEGORY,
)
from tools.demo.sampling import pick, progress, sample_distinct, scaled, seconds, slugify


def build_catalog(ctx: GenContext) -> None:
    """Fill ``ctx.rows`` with categories, brands, products and variants, and
    ``ctx.products`` / ``ctx.pools`` with what the later stages sample from."""
    rng = ctx.rng(1)
    n_total = scaled(BASE_PRODUCTS, ctx.scale, MIN_PRODUCTS_PER_CATEGORY * len(ctx.cats))
    weight_sum = sum(CATEGORY_WEIGHTS.values())
    counts = [max(MIN_PRODUCTS_PER_CATEGORY, round(n_total * CATEGORY_WEIGHTS[c.slug] / weight_sum))
              for c in ctx.cats]
    # The first MIN_PRODUCTS_PER_CATEGORY of each category exist before the history starts.
    plan: list[tuple[int, bool]] = []
    for ci, n in enumerate(counts):
        plan.extend((ci, k < MIN_PRODUCTS_PER_CATEGORY) for k in range(n))
    rng.shuffle(plan)

    ctx.rows["categories"] = [
        {"id": i + 1, "slug": c.slug, "name": c.name, "parent_id": None} for i, c in enumerate(ctx.cats)
    ]
    ctx.rows["brands"] = [
        {"id": i + 1, "slug": b.slug, "name": b.name} for i, b in enumerate(ctx.brands)
    ]
    product_rows: list[dict[str, Any]] = []
    variant_rows: list[dict[str, Any]] = []
    handles: dict[str, int] = {}
    for pid, (ci, early) in enumerate(
        progress(plan, desc="products", total=len(plan), enabled=ctx.progress), start=1
    ):
        cat = ctx.cats[ci]
        bi = rng.randrange(len(ctx.brands))
        brand = ctx.brands[bi]
        if cat.gendered:
            g = rng.random()
            gender = "men" if g < 0.45 else "women" if g < 0.9 else "unisex"
        else:
            gender = "unisex"
        quality = rng.gauss(0.0, 1.0)
        pop = math.exp(0.7 * quality + rng.gauss(0.0, 0.6))
        noun = rng.choice(cat.nouns)
        model = rng.choice(MODEL_NAMES) + rng.choice(MODEL_SUFFIXES)
        features, uses = _draw_features(rng, cat, noun)
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
        season = _season(features, uses)
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
        price, compare_at = _draw_price(rng, brand, cat, quality)
        description = _description(rng, brand=brand, model=model, noun=noun, uses=uses,
                                   material=material, features=features, season=season,
                                   fit=attributes.get("fit"), style=style, weight_g=weight_g)
        if early:
            created = ctx.window_start - timedelta(days=rng.uniform(5, 200))
        elif rng.random() < 0.85:
            created = ctx.window_start - timedelta(days=rng.uniform(1, 200))
        else:
            created = ctx.as_of - timedelta(days=rng.uniform(14, HISTORY_DAYS - 10))
        created = created.replace(microsecond=0)
        updated = created + seconds((ctx.as_of - created).total_seconds() * rng.random() * 0.9)

        sizes = _draw_sizes(rng, cat, gender)
        n_colours = pick(rng, (1, 2, 3, 4), (2, 6, 9, 11))
        colours = sample_distinct(rng, ctx.colour_names, [COLOUR_WEIGHTS[c] for c in ctx.colour_names], n_colours)
        sku = f"{''.join(w[0] for w in brand.slug.split('-')).upper()}-{cat.slug[:3].upper()}-{pid:05d}"
        variants = _draw_variants(rng, variant_rows, pid=pid, sku=sku, cat=cat, brand=brand, sizes=sizes,
                                  colours=colours, price=price)
        product_rows.append({
            "id": pid, "sku": sku, "handle": handle, "title": title, "description": description,
            "brand_id": bi + 1, "category_id": ci + 1, "gender": gender,
            "price_cents": price, "compare_at_cents": compare_at, "currency": vocab.CURRENCY,
            "attributes": attributes, "image_url": f"/static/products/{handle}.svg",
            "rating_avg": None, "rating_count": 0, "is_active": True,
            "created_at": created, "updated_at": updated,
        })
        ctx.products.append(DemoProduct(
            id=pid, cat=ci, brand=bi, gender=gender, quality=quality, pop=pop, created_at=created,
            title=title, noun=noun, material=material, use_cases=uses, sizes=sizes,
            colours=colours, variants=variants,
        ))
    ctx.rows["products"] = product_rows
    ctx.rows["product_variants"] = variant_rows
    build_pools(ctx)


def _draw_features(rng: random.Random, cat: vocab.Category, noun: str) -> tuple[list[str], list[str]]:
    """Features and use-cases: the noun's own, then 2-4 features and 1-3 use-cases of the category."""
    hint_features, hint_uses = NOUN_HINTS.get(noun, ((), ()))
    features = list(hint_features)
    for f in rng.sample(cat.features, min(len(cat.features), rng.randint(2, 4))):
        if f not in features:
            features.append(f)
    uses = list(hint_uses)
    for u in rng.sample(cat.use_cases, min(len(cat.use_cases), rng.randint(1, 3))):
        if u not in uses:
            uses.append(u)
    return features, uses


def _season(features: list[str], uses: list[str]) -> str:
    if "winter" in uses or "skiing" in uses or "insulated" in features:
        return "winter"
    if "four-season" in features:
        return "four-season"
    if "three-season" in features:
        return "three-season"
    if "summer" in uses:
        return "summer"
    return "all-season"


def _draw_price(rng: random.Random, brand: vocab.Brand, cat: vocab.Category, quality: float) -> tuple[int, int | None]:
    """(price, compare-at price or ``None``): category range x brand tier band, nudged by
    quality; 18% are on sale."""
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
    return price, compare_at


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


def _draw_sizes(rng: random.Random, cat: vocab.Category, gender: str) -> list[str]:
    """The sizes a product comes in: the category's, trimmed at the edges and by gender."""
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
    return sizes


def _draw_variants(rng: random.Random, variant_rows: list[dict[str, Any]], *, pid: int, sku: str,
                   cat: vocab.Category, brand: vocab.Brand, sizes: list[str], colours: list[str],
                   price: int) -> dict[tuple[str, str], DemoVariant]:
    """Append a row per size x colour to ``variant_rows`` (ids continue from its length)
    and return the variants by (size, colour)."""
    variants: dict[tuple[str, str], DemoVariant] = {}
    for si, size in enumerate(sizes):
        extra = 0
        if cat.slug == "tents":
            extra = si * (4000 + 1000 * brand.tier)
        elif cat.slug == "sleeping-bags" and size == "Long":
            extra = 2000
        for colour in colours:
            variant_id = len(variant_rows) + 1
            middle = 1.0 - abs(si - (len(sizes) - 1) / 2) / max(1, len(sizes))
            stock = 0 if rng.random() < 0.12 else min(150, int(rng.expovariate(1 / 16) * (0.5 + middle)) + 1)
            variant_rows.append({
                "id": variant_id, "product_id": pid,
                "sku": f"{sku}-{slugify(size).upper()}-{colour.upper()}",
                "size": size, "colour": colour,
                "price_cents": price + extra if extra else None, "stock": stock,
            })
            variants[(size, colour)] = DemoVariant(variant_id, size, colour, price + extra)
    return variants


def _description(rng: random.Random, *, brand: vocab.Brand, model: str, noun: str,
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

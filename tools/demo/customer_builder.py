"""Customer stage of the demo-shop generator: customers with names, addresses and
contact details, and the hidden profiles (favourite categories, style, price level,
brand affinities, sizes, colours, activity) that drive everything they do later.

Customer 1 is the fixed demo persona (see :data:`~tools.demo.params.PERSONA_EMAIL`).
All draws come from the context's stream 2, in a fixed order.
"""

from __future__ import annotations

import random
import re
from datetime import timedelta
from typing import Any

from tools.demo import vocab
from tools.demo.context import DemoCustomer, GenContext
from tools.demo.params import (
BASE_CUSTOMERS,
CATEGORY_WEIGHTS,
COLOUR_WEIGHTS,
MIN_CUSTOMERS,
PERSONA_CUSTOMER_ID,
PERSONA_EMAIL,
STYLE_WEIGHTS,
)
from tools.demo.people_words import CITIES, COUNTRY_CALLING, FIRST_NAMES, LAST_NAMES, LOCAL_STREETS, STREET_NAMES
from tools.demo.profiles import PRICE_LEVELS, CustomerProfile
from tools.demo.sampling import cumulative, pick, progress, random_chars, sample_distinct, scaled


def build_customers(ctx: GenContext) -> None:
    """Fill ``ctx.customers``, ``ctx.customer_cum`` (order weights) and the customers rows."""
    rng = ctx.rng(2)
    n = scaled(BASE_CUSTOMERS, ctx.scale, MIN_CUSTOMERS)
    city_cum = cumulative(c[3] for c in CITIES)
    rows: list[dict[str, Any]] = []
    weights: list[float] = []
    for cid in progress(range(1, n + 1), desc="customers", total=n, enabled=ctx.progress):
        if cid == PERSONA_CUSTOMER_ID:
            profile = _persona_profile(ctx, rng)
            first, last, city, country = "Alex", "Rivera", "Portland", "US"
            line1, line2, postcode = "1208 Alder Street", "Apt 3B", "97205"
            email, phone = PERSONA_EMAIL, "+1-555-0142"
            created = ctx.as_of - timedelta(days=800, hours=5)
            opt_in = True
        else:
            profile = _draw_profile(ctx, rng)
            first = rng.choice(FIRST_NAMES[profile.gender])
            last = rng.choice(LAST_NAMES)
            city, country, prefix, _w = pick(rng, CITIES, city_cum)
            line1, line2, postcode = _address(rng, country, prefix)
            local = f"{re.sub(r'[^a-z]', '', first.lower())}.{re.sub(r'[^a-z]', '', last.lower())}{cid}"
            email = f"{local}@example.com"
            phone = (f"+{COUNTRY_CALLING[country]}-555-01{rng.randint(0, 99):02d}"
                     if rng.random() < 0.7 else None)
            days_ago = 900 * rng.random() ** 0.6 + 1
            created = (ctx.as_of - timedelta(days=days_ago)).replace(microsecond=0)
            opt_in = rng.random() < 0.4
        favs = [ctx.cat_index[s] for s in profile.favourite_categories]
        cust = DemoCustomer(cid, first, last, city, country, postcode, line1, line2, created, profile,
                            favs, cumulative(profile.favourite_categories.values()))
        ctx.customers.append(cust)
        start = max(created, ctx.window_start)
        span_days = max(0.0, (ctx.as_of - start).total_seconds() / 86400 - 1)
        weights.append(0.0 if cid == PERSONA_CUSTOMER_ID else profile.activity * span_days)
        rows.append({
            "id": cid, "email": email, "first_name": first, "last_name": last, "phone": phone,
            "city": city, "country": country, "marketing_opt_in": opt_in, "created_at": created,
        })
    ctx.customer_cum = cumulative(weights)
    ctx.rows["customers"] = rows


def _persona_profile(ctx: GenContext, rng: random.Random) -> CustomerProfile:
    """Alex Rivera's fixed profile (only her activity is drawn, to keep the stream in step)."""
    base = _draw_profile(ctx, rng, gender="women")
    raw = []
    for b in ctx.brands:
        a = (3.0 if b.style == "technical" else 1.0) * (2.5 if b.tier == 1 else 1.0)
        raw.append(a)
    total = sum(raw)
    return CustomerProfile(
        gender="women", style="technical", price_level="mid",
        favourite_categories={"hiking-boots": 0.45, "jackets": 0.35, "backpacks": 0.2},
        brand_affinity={b.slug: round(w / total, 4) for b, w in zip(ctx.brands, raw, strict=True)},
        apparel_size="M", shoe_size="8", colours=("green", "navy"), activity=base.activity + 2.0,
    )


def _draw_profile(ctx: GenContext, rng: random.Random, gender: str | None = None) -> CustomerProfile:
    """A random hidden profile (``gender``: fixed, or drawn when ``None``)."""
    gender = gender or ("men" if rng.random() < 0.5 else "women")
    style = pick(rng, vocab.STYLES, cumulative(STYLE_WEIGHTS))
    level = pick(rng, PRICE_LEVELS, cumulative((0.35, 0.45, 0.20)))
    tier = PRICE_LEVELS.index(level)
    k = 2 if rng.random() < 0.5 else 3
    favs = sample_distinct(rng, [c.slug for c in ctx.cats],
                           [CATEGORY_WEIGHTS[c.slug] for c in ctx.cats], k)
    gammas = [rng.gammavariate(1.5, 1.0) for _ in favs]
    total = sum(gammas)
    fav_weights = {slug: round(g / total, 4) for slug, g in zip(favs, gammas, strict=True)}
    raw: list[float] = []
    for b in ctx.brands:
        a = 3.0 if b.style == style else 1.0
        a *= 2.5 if b.tier == tier else (1.0 if abs(b.tier - tier) == 1 else 0.3)
        raw.append(a * rng.lognormvariate(0.0, 0.4))
    total = sum(raw)
    affinity = {b.slug: round(w / total, 4) for b, w in zip(ctx.brands, raw, strict=True)}
    if gender == "men":
        apparel = pick(rng, ("XS", "S", "M", "L", "XL", "XXL"), cumulative((3, 10, 30, 33, 18, 6)))
        shoe = pick(rng, ("7", "8", "9", "10", "11", "12", "13"), cumulative((4, 10, 22, 28, 20, 11, 5)))
    else:
        apparel = pick(rng, ("XS", "S", "M", "L", "XL", "XXL"), cumulative((12, 30, 33, 17, 6, 2)))
        shoe = pick(rng, ("6", "7", "8", "9", "10", "11"), cumulative((18, 30, 28, 15, 6, 3)))
    colours = tuple(sample_distinct(rng, ctx.colour_names,
                                    [COLOUR_WEIGHTS[c] for c in ctx.colour_names], 2))
    activity = round(rng.lognormvariate(0.0, 0.8), 4)
    return CustomerProfile(gender, style, level, fav_weights, affinity, apparel, shoe, colours, activity)


def _address(rng: random.Random, country: str, prefix: str) -> tuple[str, str | None, str]:
    """(line 1, line 2 or ``None``, postcode) in the local format of ``country``."""
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
        return random_chars(rng, "0123456789", k)

    def letters(k: int) -> str:
        return random_chars(rng, "ABCEGHJKLMNPRSTVXY", k)

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

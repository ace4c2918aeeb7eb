"""What shoppers look at and buy: products indexed by category, shopper gender and brand
(weighted by popularity), drawn through a customer's hidden favourite categories and
brand affinities, and the variant (size and colour) a customer picks."""

from __future__ import annotations

import random
from datetime import datetime

from tools.demo.context import DemoCustomer, DemoProduct, DemoVariant, GenContext, ProductPool
from tools.demo.params import APPAREL, FOOTWEAR
from tools.demo.sampling import cumulative, pick


def build_pools(ctx: GenContext) -> None:
    """Index products by (category, shopper gender) and brand, weighted by popularity."""
    groups: dict[tuple[int, str], list[DemoProduct]] = {}
    for p in ctx.products:
        for g in ("men", "women", "any"):
            if g == "any" or p.gender in (g, "unisex"):
                groups.setdefault((p.cat, g), []).append(p)
    for key in sorted(groups):
        members = groups[key]
        pool: ProductPool = {-1: (members, cumulative(p.pop for p in members))}
        by_brand: dict[int, list[DemoProduct]] = {}
        for p in members:
            by_brand.setdefault(p.brand, []).append(p)
        for bi in sorted(by_brand):
            pool[bi] = (by_brand[bi], cumulative(p.pop for p in by_brand[bi]))
        ctx.pools[key] = pool


def pool_for(ctx: GenContext, cat: int, gender: str) -> ProductPool:
    """The products of category ``cat`` a shopper of ``gender`` sees (``"any"``: all)."""
    return ctx.pools.get((cat, gender)) or ctx.pools[(cat, "any")]


def sample_product(ctx: GenContext, rng: random.Random, customer: DemoCustomer | None, *, before: datetime,
                   cat: int | None = None) -> DemoProduct:
    """A product a shopper looks at or buys at time ``before``: category from the
    hidden favourites (80%) or overall demand, brand from the hidden affinities (75%)
    or popularity, then a product by popularity (which follows quality)."""
    for _attempt in range(8):
        if cat is None:
            if customer is not None and rng.random() < 0.8:
                c = pick(rng, customer.fav_slugs, customer.fav_cum)
            else:
                c = pick(rng, range(len(ctx.cats)), ctx.cat_cum)
        else:
            c = cat
        gender = customer.profile.gender if customer is not None else "any"
        pool = pool_for(ctx, c, gender)
        if customer is not None and rng.random() < 0.75:
            key = (customer.id, c)
            cached = ctx.brand_cache.get(key)
            if cached is None:
                brands = sorted(b for b in pool if b >= 0)
                aff = customer.profile.brand_affinity
                cached = (brands, cumulative(aff[ctx.brands[b].slug] for b in brands))
                ctx.brand_cache[key] = cached
            members, cum = pool[pick(rng, cached[0], cached[1])]
        else:
            members, cum = pool[-1]
        product = pick(rng, members, cum)
        if product.created_at <= before:
            return product
    members = [p for p in pool_for(ctx, c, "any")[-1][0] if p.created_at <= before]
    if members:
        return members[0]
    return min(ctx.products, key=lambda p: (p.created_at, p.id))


def variant_for(ctx: GenContext, rng: random.Random, product: DemoProduct, customer: DemoCustomer) -> DemoVariant:
    """The variant ``customer`` buys: their size (8% of the time any size) and one of
    their colours (60% when the product has it)."""
    slug = ctx.cats[product.cat].slug
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

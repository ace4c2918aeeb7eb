"""The foundation search backend: exact SQL filters, keyword-overlap ranking, and
relaxation of constraints in :data:`~shop.services.search.query.RELAX_ORDER` when nothing
survives."""

from __future__ import annotations

import re

from sqlalchemy import and_, exists, select
from sqlalchemy.orm import Session

from shop.db.schema import Product, ProductVariant
from shop.services.catalog import get_cards, resolve_brand
from shop.services.search.categories import resolve_category_forgiving
from shop.services.search.query import RELAX_ORDER, SearchQuery, SearchResult, keywords

MAX_CANDIDATES = 5_000


def _stem(word: str) -> str:
    return word[:-1] if len(word) > 4 and word.endswith("s") else word


class SqlProductSearch:
    """Exact SQL filters, then ranking by keyword overlap with title, description and
    attributes, then rating. Good enough for a few thousand products; the retrieval
    issue's semantic search replaces the ranking."""

    def _candidates(self, session: Session, query: SearchQuery) -> list[Product] | None:
        stmt = select(Product).where(Product.is_active.is_(True))
        if query.category:
            category = resolve_category_forgiving(session, value=query.category)
            if category is None:
                return None
            stmt = stmt.where(Product.category_id == category.id)
        if query.brand:
            brand = resolve_brand(session, value=query.brand)
            if brand is None:
                return None
            stmt = stmt.where(Product.brand_id == brand.id)
        if query.gender:
            stmt = stmt.where(Product.gender.in_([query.gender.lower(), "unisex"]))
        if query.price_min_cents is not None:
            stmt = stmt.where(Product.price_cents >= query.price_min_cents)
        if query.price_max_cents is not None:
            stmt = stmt.where(Product.price_cents <= query.price_max_cents)
        variant_filters = [ProductVariant.product_id == Product.id, ProductVariant.in_stock]
        if query.size:
            variant_filters.append(ProductVariant.size.ilike(query.size))
        if query.colour:
            variant_filters.append(ProductVariant.colour.ilike(query.colour))
        stmt = stmt.where(exists().where(and_(*variant_filters)))
        return list(session.scalars(stmt.limit(MAX_CANDIDATES)))

    def _rank(self, products: list[Product], query: SearchQuery) -> list[int]:
        words = {_stem(w) for w in keywords(query.text)}
        use_case = (query.use_case or "").lower()
        scored: list[tuple[float, float, int]] = []
        for p in products:
            attrs = p.attributes or {}
            if use_case and use_case not in [u.lower() for u in attrs.get("use_cases", [])]:
                continue
            score = 0.0
            if words:
                title = {_stem(w) for w in re.findall(r"[a-z0-9'-]+", p.title.lower())}
                body = {_stem(w) for w in re.findall(r"[a-z0-9'-]+", f"{p.description} {attrs}".lower())}
                score = 2.0 * len(words & title) + len(words & body)
                if score == 0:
                    continue
            scored.append((-score, -(p.rating_avg or 0.0), p.id))
        scored.sort()
        return [pid for _, _, pid in scored]

    def search(self, session: Session, query: SearchQuery) -> SearchResult:
        relaxed: list[str] = []
        current = query
        while True:
            products = self._candidates(session, current)
            ranked = self._rank(products or [], current)
            if ranked:
                break
            droppable = [c for c in RELAX_ORDER if current.has(c)]
            if not droppable:
                return SearchResult([], 0, current, relaxed)
            relaxed.append(droppable[0])
            current = current.without(droppable[0])
        page = ranked[current.offset : current.offset + current.limit]
        return SearchResult(get_cards(session, product_ids=page), len(ranked), current, relaxed)

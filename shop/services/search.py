"""Product search: the query type, the result type and the backend seam.

Actions build a :class:`SearchQuery` from slots and text and call
``get_search_backend(name).search(session, query)``. The foundation backend,
:class:`SqlProductSearch`, filters in SQL and ranks by keyword overlap; the
retrieval issue adds a FAISS/hybrid backend behind the same interface, so actions
don't change.

Hard constraints (category, brand, gender, price range, a size or colour in stock)
are applied exactly. When nothing survives, constraints are relaxed one at a time in
:data:`RELAX_ORDER` and the result says which ones were dropped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Protocol

from sqlalchemy import and_, exists, select
from sqlalchemy.orm import Session

from shop.db.schema import Product, ProductVariant
from shop.services.catalog import ProductCard, get_cards, resolve_brand, resolve_category

MAX_QUERY_CHARS = 500
MAX_CANDIDATES = 5_000
RELAX_ORDER = ("keywords", "use_case", "colour", "size", "brand", "price", "gender")

STOPWORDS = frozenset(
    "a an and any are at be can do does for from got have i im in is it looking me my need "
    "of on or please pls show some something that the there this to want wanna with you your "
    "under over below above less more than between cheap cheaper usd dollars bucks size sizes "
    "colour color mens men womens women ladies guys unisex one ones what which who how find get "
    "buy shop store new good nice best".split()
)


@dataclass(frozen=True)
class SearchQuery:
    """A product search.

    ``text`` is the shopper's words; the other fields are hard constraints (``None``
    = unconstrained). Prices are in cents. ``offset``/``limit`` page the results.
    """

    text: str = ""
    category: str | None = None
    brand: str | None = None
    colour: str | None = None
    size: str | None = None
    gender: str | None = None
    use_case: str | None = None
    price_min_cents: int | None = None
    price_max_cents: int | None = None
    offset: int = 0
    limit: int = 5

    def __post_init__(self) -> None:
        object.__setattr__(self, "text", (self.text or "")[:MAX_QUERY_CHARS])
        if self.limit < 1 or self.limit > 50:
            raise ValueError("limit must be between 1 and 50")
        if self.offset < 0:
            raise ValueError("offset must be 0 or more")

    def without(self, constraint: str) -> SearchQuery:
        """This query with one constraint from :data:`RELAX_ORDER` dropped."""
        if constraint == "keywords":
            return replace(self, text="")
        if constraint == "price":
            return replace(self, price_min_cents=None, price_max_cents=None)
        return replace(self, **{constraint: None})

    def has(self, constraint: str) -> bool:
        if constraint == "keywords":
            return bool(keywords(self.text))
        if constraint == "price":
            return self.price_min_cents is not None or self.price_max_cents is not None
        return getattr(self, constraint) is not None


@dataclass
class SearchResult:
    """A page of results: ``cards`` for this page, ``total`` matches overall,
    ``relaxed`` the constraints dropped to find them (in order), and the ``query``
    that produced them (with its relaxations applied)."""

    cards: list[ProductCard]
    total: int
    query: SearchQuery
    relaxed: list[str] = field(default_factory=list)

    @property
    def has_more(self) -> bool:
        return self.query.offset + len(self.cards) < self.total


class ProductSearch(Protocol):
    """What every search backend provides."""

    def search(self, session: Session, query: SearchQuery) -> SearchResult: ...


def keywords(text: str) -> list[str]:
    """Content words of a query: lower-case, 3+ characters, stopwords and numbers removed."""
    words = re.findall(r"[a-z][a-z0-9'-]{2,}", (text or "").lower()[:MAX_QUERY_CHARS])
    return [w for w in words if w not in STOPWORDS]


POINTER_WORDS = frozenset(
    "tell about more details detail info information describe description product item products items "
    "it its this that these those them first second third fourth fifth last number option options "
    "other another same compare again please thanks".split()
)


def names_a_product(text: str) -> bool:
    """Whether ``text`` names something to look up ("tell me about the Cairn 2 Court
    Shoe") rather than only pointing at shown results ("tell me more about the second
    one"): it has a content word beyond :data:`POINTER_WORDS`."""
    return any(w not in POINTER_WORDS for w in keywords(text))


def _stem(word: str) -> str:
    return word[:-1] if len(word) > 4 and word.endswith("s") else word


class SqlProductSearch:
    """Exact SQL filters, then ranking by keyword overlap with title, description and
    attributes, then rating. Good enough for a few thousand products; the retrieval
    issue's semantic search replaces the ranking."""

    def _candidates(self, session: Session, query: SearchQuery) -> list[Product] | None:
        stmt = select(Product).where(Product.is_active.is_(True))
        if query.category:
            category = resolve_category(session, value=query.category)
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
        variant_filters = [ProductVariant.product_id == Product.id, ProductVariant.stock > 0]
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


def warm_up(session: Session, *, name: str) -> None:
    """Load what backend ``name`` needs before the first shopper waits for it (the
    semantic backends open their index and load the embedding model: seconds)."""
    backend = get_search_backend(name)
    warm = getattr(backend, "warm_up", None)
    if warm is not None:
        warm(session)


def get_search_backend(name: str = "sql") -> ProductSearch:
    """The search backend called ``name``. Known: ``"sql"``, and the semantic backends
    ``"hybrid"`` (dense + keyword), ``"dense"`` and ``"keyword"`` (``retrieval.backend``,
    imported only when asked for, configured by ``shop.settings``; they need an index
    built by ``python -m retrieval build-index`` and fall back to SQL search without one)."""
    if name == "sql":
        return SqlProductSearch()
    if name in ("hybrid", "dense", "keyword"):
        from retrieval.backend import backend_from_settings

        return backend_from_settings(name)
    raise ValueError(f"unknown search backend {name!r}; known backends: 'sql', 'hybrid', 'dense', 'keyword'")

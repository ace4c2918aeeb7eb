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

from sqlalchemy.orm import Session

from shop.services.catalog import ProductCard

MAX_QUERY_CHARS = 500
RELAX_ORDER = ("keywords", "use_case", "colour", "size", "brand", "price", "gender")

STOPWORDS = frozenset(
    [
        "a", "an", "and", "any", "are", "at", "be", "can", "do", "does", "for", "from", "got", "have", "i", "im", "in",
        "is", "it", "looking", "me", "my", "need", "of", "on", "or", "please", "pls", "show", "some", "something",
        "that", "the", "there", "this", "to", "want", "wanna", "with", "you", "your", "under", "over", "below", "above",
        "less", "more", "than", "between", "cheap", "cheaper", "usd", "dollars", "bucks", "size", "sizes", "colour",
        "color", "mens", "men", "womens", "women", "ladies", "guys", "unisex", "one", "ones", "what", "which", "who",
        "how", "find", "get", "buy", "shop", "store", "new", "good", "nice", "best",
    ]
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
        return replace(self, **{constraint: None})  # type: ignore[arg-type]  # one of the optional constraint fields

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
    that produced them (with its relaxations applied). ``corrected_text``: the words
    searched for when some were spelling-corrected ("waterproof hiking boots" for
    "waterprof hikng bots"), else ``None``."""

    cards: list[ProductCard]
    total: int
    query: SearchQuery
    relaxed: list[str] = field(default_factory=list)
    corrected_text: str | None = None

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
    [
        "tell", "about", "more", "details", "detail", "info", "information", "describe", "description", "product",
        "item", "products", "items", "it", "its", "this", "that", "these", "those", "them", "first", "second", "third",
        "fourth", "fifth", "last", "number", "option", "options", "other", "another", "same", "compare", "again",
        "please", "thanks",
    ]
)


def names_a_product(text: str) -> bool:
    """Whether ``text`` names something to look up ("tell me about the Cairn 2 Court
    Shoe") rather than only pointing at shown results ("tell me more about the second
    one"): it has a content word beyond :data:`POINTER_WORDS`."""
    return any(w not in POINTER_WORDS for w in keywords(text))

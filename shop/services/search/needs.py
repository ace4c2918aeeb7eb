"""Soft hints from a shopper's words: categories they name, and what vague needs
("hiking in the rain", "my ears get cold") point at, from the data in ``needs.yml``.

Only hints the catalog can answer count: an attribute hint when the catalog's own
vocabulary holds its words, a category hint when one of the catalog's categories is
named by it (:mod:`shop.services.search.categories`). A foreign catalog without them is
unaffected. The hints re-rank results (:mod:`shop.services.search.hybrid`); they never
filter.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from shop.services.search.categories import (
    EXACT,
    FULL,
    CatalogCategory,
    categories_for_phrase,
    named_categories,
    singular,
    strongest,
    words_of,
)
from shop.services.search.query import STOPWORDS

NEEDS_FILE = Path(__file__).with_name("needs.yml")


@dataclass(frozen=True)
class Need:
    words: frozenset[str]
    attributes: tuple[str, ...]
    categories: tuple[str, ...]


@dataclass(frozen=True)
class NeedsTable:
    needs: tuple[Need, ...]
    category_words: dict[str, tuple[str, ...]]
    plain_words: frozenset[str]

    @property
    def known_words(self) -> frozenset[str]:
        """Words with a meaning here (never spelling-corrected)."""
        out: set[str] = set(self.plain_words) | set(self.category_words)
        for need in self.needs:
            out |= need.words
        return frozenset(out)


@lru_cache(maxsize=4)
def load_needs(path: Path = NEEDS_FILE) -> NeedsTable:
    """The needs table in ``path`` (``needs.yml`` beside this module), read once."""
    data: dict[str, Any] = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    needs = tuple(
        Need(words=frozenset(singular(str(w).lower()) for w in item.get("words", [])),
             attributes=tuple(str(a).lower() for a in item.get("attributes", []) or []),
             categories=tuple(str(c).lower() for c in item.get("categories", []) or []))
        for item in data.get("needs", []) or []
    )
    category_words = {singular(str(k).lower()): tuple(str(v).lower() for v in values)
                      for k, values in (data.get("category_words") or {}).items()}
    plain = frozenset(str(w).lower() for w in data.get("plain_words", []) or [])
    return NeedsTable(needs, category_words, plain)


@dataclass(frozen=True)
class QueryHints:
    """What the words say beyond their keywords.

    ``named``: ``{category slug: strength}`` of categories the words name (see
    :func:`~shop.services.search.categories.named_categories`; synonyms count as
    :data:`~shop.services.search.categories.FULL`); ``categories``: slugs the needs
    point at; ``attributes``: attribute phrases the needs point at that the catalog has;
    ``need_words``: the words that were needs; ``content_words``: the query's content
    words (stopwords and everyday words left out).
    """

    named: dict[str, float] = field(default_factory=dict)
    categories: frozenset[str] = frozenset()
    attributes: tuple[str, ...] = ()
    need_words: tuple[str, ...] = ()
    content_words: tuple[str, ...] = ()

    @property
    def top_named(self) -> frozenset[str]:
        """The categories the words name (:func:`~shop.services.search.categories.strongest`)."""
        return strongest(self.named)

    @property
    def any(self) -> bool:
        return bool(self.named or self.categories or self.attributes)


def query_hints(text: str, categories: list[CatalogCategory], *, in_catalog: Callable[[str], bool],
                table: NeedsTable | None = None) -> QueryHints:
    """Hints of ``text`` for a catalog with ``categories``; ``in_catalog(word)`` says
    whether the catalog's vocabulary holds a word.

    Categories are named by all the words, stopwords and everyday words included ("Men's
    Shoes", "Baby Products", "Home Décor" are names); when the words are exactly a
    category's name, they are not read as needs too ("Running", "Camping & Hiking")."""
    table = table or load_needs()
    words = words_of(text[:2000])[:64]
    content = tuple(w for w in dict.fromkeys(words) if w not in STOPWORDS and w not in table.plain_words)[:24]
    named = named_categories(words, categories)
    named_words = {w for c in categories if named.get(c.slug, 0.0) >= FULL for w in c.words}
    for word in content:
        if word in named_words:
            continue  # "shoes" names the shop's "Shoes": not every kind of shoe
        for phrase in table.category_words.get(word, ()):
            for slug in categories_for_phrase(phrase, categories):
                named[slug] = max(named.get(slug, 0.0), FULL)
    hinted: set[str] = set()
    attributes: list[str] = []
    need_words: list[str] = []
    present = set(content)
    if named and max(named.values()) >= EXACT:
        present = set()  # a category's very name, not a situation
    for need in table.needs:
        hit = need.words & present
        if not hit:
            continue
        need_words.extend(sorted(hit))
        for phrase in need.categories:
            hinted.update(categories_for_phrase(phrase, categories))
        for attribute in need.attributes:
            if attribute not in attributes and all(in_catalog(w) for w in _plain_words(attribute)):
                attributes.append(attribute)
    return QueryHints(named, frozenset(hinted), tuple(attributes), tuple(dict.fromkeys(need_words)), content)


def _plain_words(phrase: str) -> list[str]:
    return [w for w in phrase.replace("-", " ").split() if w]


def attribute_text(attributes: Any) -> str:
    """A product's attribute values as one lower-case string (any keys, lists or scalars)."""
    if not isinstance(attributes, dict):
        return ""
    parts: list[str] = []
    for value in attributes.values():
        if isinstance(value, str):
            parts.append(value)
        elif isinstance(value, (list, tuple)):
            parts.extend(str(v) for v in value if isinstance(v, (str, int, float)))
    return f" {' '.join(parts).lower()} "


def attribute_hits(attributes: Any, hints: Collection[str]) -> int:
    """How many of ``hints`` (phrases) a product's attribute values hold as whole words."""
    text = attribute_text(attributes).replace(",", " ")
    return sum(1 for h in hints if f" {h} " in text)

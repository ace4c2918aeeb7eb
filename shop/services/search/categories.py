"""Which of the catalog's categories a shopper's words name, forgivingly.

A category is named by its slug, its name, one of the *parts* of its name (split at
"&", "and", ",", "/": "Gloves & Mittens" -> "gloves", "mittens") or, more weakly, a
part's last word ("Trail Running Shoes" -> "shoes"). Words are compared singular
("boots" = "boot"), and a word of 4+ letters may be one edit off (two from 8 letters):
"jaket", "sleepingbag" are not exact but still name theirs. Categories come from the
database (a short cached list), so a foreign catalog is read the same way.
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from retrieval.spelling import edit_distance, max_edits
from shop.db.schema import Category
from shop.services.catalog import resolve_category

CACHE_S = 30.0
FULL, HEAD = 2, 1
_SPLIT = re.compile(r"\s*(?:&|\band\b|,|/|\+)\s*")
_WORD = re.compile(r"[a-z0-9]+")


def singular(word: str) -> str:
    """A crude English singular: "boots" -> "boot", "hoodies" -> "hoodie", "glasses" -> "glass"."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-1]
    if len(word) > 4 and word.endswith(("sses", "shes", "ches", "xes")):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def words_of(text: str) -> list[str]:
    """Lower-case singular words of ``text`` ("T-Shirts" -> ["t", "shirt"])."""
    return [singular(w) for w in _WORD.findall((text or "").lower())]


@dataclass(frozen=True)
class CatalogCategory:
    """One category and the phrases that name it (tuples of singular words)."""

    id: int
    slug: str
    name: str
    phrases: tuple[tuple[str, ...], ...]


def _phrases(slug: str, name: str) -> tuple[tuple[str, ...], ...]:
    parts = [p for p in _SPLIT.split(name.lower()) if p.strip()]
    out = {tuple(words_of(p)) for p in parts} | {tuple(words_of(slug.replace("-", " ")))}
    return tuple(sorted(p for p in out if p))


_CACHE: dict[str, tuple[float, list[CatalogCategory]]] = {}
_LOCK = threading.Lock()


def catalog_categories(session: Session) -> list[CatalogCategory]:
    """Every category of the catalog in ``session``'s database (kept ``CACHE_S`` seconds)."""
    key = str(session.get_bind().engine.url)
    now = time.monotonic()
    with _LOCK:
        cached = _CACHE.get(key)
        if cached is not None and now - cached[0] < CACHE_S:
            return cached[1]
    rows = session.execute(select(Category.id, Category.slug, Category.name).order_by(Category.id)).all()
    found = [CatalogCategory(int(i), str(s), str(n), _phrases(str(s), str(n))) for i, s, n in rows]
    with _LOCK:
        _CACHE[key] = (now, found)
    return found


def _same(word: str, other: str) -> bool:
    """``word`` (from a shopper) is ``other`` (from the catalog), allowing a typo."""
    if word == other:
        return True
    # a 3-letter singular ("bots" -> "bot") may still be one edit off a longer name word
    limit = max_edits(word) or (1 if len(word) == 3 and len(other) >= 4 else 0)
    return limit > 0 and len(other) >= 4 and edit_distance(word, other, limit) <= limit


def _contains(words: list[str], phrase: tuple[str, ...]) -> bool:
    """``phrase`` occurs in ``words`` as consecutive words (or glued: "sleepingbag")."""
    n = len(phrase)
    for i in range(len(words) - n + 1):
        if all(_same(words[i + j], phrase[j]) for j in range(n)):
            return True
    glued = "".join(phrase)
    return n > 1 and any(_same(w, glued) for w in words)


def named_categories(words: list[str], categories: list[CatalogCategory]) -> dict[str, int]:
    """``{slug: strength}`` of categories ``words`` (singular, see :func:`words_of`) name:
    :data:`FULL` for a whole phrase of a category, :data:`HEAD` for only its last word."""
    out: dict[str, int] = {}
    for category in categories:
        strength = 0
        for phrase in category.phrases:
            if _contains(words, phrase):
                strength = FULL
                break
            if len(phrase) > 1 and any(_same(w, phrase[-1]) for w in words):
                strength = HEAD
        if strength:
            out[category.slug] = strength
    return out


def categories_for_phrase(phrase: str, categories: list[CatalogCategory]) -> list[str]:
    """Slugs of the categories a hint phrase ("sleeping bags", "shoes") names: the whole
    phrase is one of theirs, or a one-word hint is the last word of one of theirs."""
    words = tuple(words_of(phrase))
    if not words:
        return []
    out = []
    for category in categories:
        if words in category.phrases or (len(words) == 1 and any(p[-1] == words[0] for p in category.phrases)):
            out.append(category.slug)
    return out


def resolve_category_forgiving(session: Session, *, value: str | None) -> Category | None:
    """The category ``value`` names: as :func:`~shop.services.catalog.resolve_category`
    (slug or name), else the one category its words name best (singular/plural, a part
    of the name, one typo), else ``None`` (nothing, or several equally)."""
    found = resolve_category(session, value=value)
    if found is not None or not value:
        return found
    words = words_of(str(value)[:100])
    if not words or len(words) > 6:
        return None
    named = named_categories(words, catalog_categories(session))
    if not named:
        return None
    best = max(named.values())
    winners = [slug for slug, strength in named.items() if strength == best]
    if len(winners) != 1:
        return None
    return resolve_category(session, value=winners[0])

"""Which of the catalog's categories a shopper's words name, forgivingly, and how strongly.

A category is named by its whole name, by one of the *parts* of its name (split at "&",
"and", ",", "/", "+": "Gloves & Mittens" -> "gloves", "mittens"), by its slug, or, more
weakly, by a part's last word ("Trail Running Shoes" -> "shoes"). Words are compared
folded (accents and possessives dropped: "Home Décor" = "home decor", "Men's" = "men",
"Kids'" = "kids") and singular ("boots" = "boot"), ignoring filler words ("the", "of",
"and", "for"...); a word of 4+ letters may be one edit off (two from 8 letters): "jaket",
"sleepingbag" still name theirs, a little less strongly than the exact words.

Strength (:func:`named_categories`), from strongest:

- :data:`EXACT`: the words are the category's name ("Camera Accessories", "mens shoes");
- :data:`WHOLE`: every part of the name is in the words ("shoes for men", "cheap shoes");
- :data:`FULL`: one part of it ("kitchen" for "Kitchen & Dining"), or a synonym (``needs.yml``);
- :data:`HEAD`: only a part's last word ("shoes" for "Trail Running Shoes");

plus up to 0.5 for the share of the words the name explains. A name inside a longer
name the words hold is not what they name ("Cameras" in "camera accessories", "Shirts"
in "t-shirt", "Shoes" in "men's shoes"): it drops below :data:`FULL`. The categories the
words name (:func:`strongest`) are every one at :data:`FULL` or more, so "jacket and
gloves" names two. Categories come from the database (a short cached list), so a foreign
catalog is read the same way.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from sqlalchemy import select
from sqlalchemy.orm import Session

from retrieval.keyword import fold
from retrieval.spelling import edit_distance, max_edits
from shop.db.schema import Category
from shop.services.catalog import resolve_category

CACHE_S = 30.0
EXACT, WHOLE, FULL, HEAD = 4.0, 3.0, 2.0, 1.0
FUZZY_PENALTY = 0.3
AMBIGUOUS_WITHIN = 0.5  # a hard category constraint needs one category this much stronger than the rest
MAX_WORDS = 24
FILLER = frozenset(["a", "an", "and", "at", "by", "for", "in", "of", "on", "or", "the", "to", "with"])
_SPLIT = re.compile(r"\s*(?:&|\band\b|,|/|\+)\s*")
_WORD = re.compile(r"[a-z0-9]+")
Same = Callable[[str, str], bool]


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
    """Folded singular words of ``text`` ("T-Shirts" -> ["t", "shirt"], "Men's" -> ["men"])."""
    return [singular(w) for w in _WORD.findall(fold(text))]


def name_words(text: str) -> tuple[str, ...]:
    """:func:`words_of` without filler words ("The Designer Boutique" -> ("designer", "boutique"))."""
    return tuple(w for w in words_of(text) if w not in FILLER)


@dataclass(frozen=True)
class CatalogCategory:
    """One category: the ``parts`` of its name, every phrase that names it (the parts
    and the slug's words) and its name's ``words`` (tuples of singular words)."""

    id: int
    slug: str
    name: str
    phrases: tuple[tuple[str, ...], ...]
    parts: tuple[tuple[str, ...], ...] = ()
    words: tuple[str, ...] = ()


def _parts(name: str) -> tuple[tuple[str, ...], ...]:
    parts = (name_words(p) for p in _SPLIT.split(fold(name)) if p.strip())
    return tuple(dict.fromkeys(p for p in parts if p))


def _phrases(slug: str, name: str) -> tuple[tuple[str, ...], ...]:
    out = set(_parts(name)) | {name_words(slug.replace("-", " "))}
    return tuple(sorted(p for p in out if p))


def make_category(id_: int, slug: str, name: str) -> CatalogCategory:
    """The :class:`CatalogCategory` of a category row."""
    parts = _parts(name)
    words = tuple(dict.fromkeys(w for part in parts for w in part))
    return CatalogCategory(id_, slug, name, _phrases(slug, name), parts, words)


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
    found = [make_category(int(i), str(s), str(n)) for i, s, n in rows]
    with _LOCK:
        _CACHE[key] = (now, found)
    return found


def _y_ie(word: str) -> str:
    """"supply" and "supplie" (from "supplies") as one form."""
    return f"{word[:-1]}ie" if len(word) > 3 and word.endswith("y") and word[-2] not in "aeiou" else word


def _exact(word: str, other: str) -> bool:
    return word == other or _y_ie(word) == _y_ie(other)


@lru_cache(maxsize=65_536)
def _same(word: str, other: str) -> bool:
    """``word`` (from a shopper) is ``other`` (from the catalog), allowing a typo."""
    if _exact(word, other):
        return True
    # a 3-letter singular ("bots" -> "bot") may still be one edit off a longer name word
    limit = max_edits(word) or (1 if len(word) == 3 and len(other) >= 4 else 0)
    return limit > 0 and len(other) >= 4 and edit_distance(word, other, limit) <= limit


def _contains(words: list[str], phrase: tuple[str, ...], same: Same = _same) -> bool:
    """``phrase`` occurs in ``words`` as consecutive words (or glued: "sleepingbag")."""
    n = len(phrase)
    for i in range(len(words) - n + 1):
        if all(same(words[i + j], phrase[j]) for j in range(n)):
            return True
    glued = "".join(phrase)
    return n > 1 and any(same(w, glued) for w in words)


def _anywhere(words: list[str], phrase: tuple[str, ...], same: Same = _same) -> bool:
    """Every word of ``phrase`` is somewhere in ``words`` ("shoes for men" holds "men shoe")."""
    return all(any(same(w, p) for w in words) for p in phrase)


def _strength(words: list[str], category: CatalogCategory, same: Same) -> tuple[float, float, frozenset[int]]:
    """``(strength, level, positions of the words its name explains)``; zeros when not named."""
    parts = category.parts or category.phrases
    held = [p for p in parts if _contains(words, p, same) or (len(p) > 1 and _anywhere(words, p, same))]
    if held and len(held) == len(parts):
        exact = len(words) == len(category.words) and all(same(a, b) for a, b in zip(words, category.words,
                                                                                      strict=True))
        level = EXACT if exact else WHOLE
        bonus = 0.0
    elif held or any(_contains(words, p, same) for p in category.phrases if p not in parts):
        level, bonus = FULL, 0.25 * sum(len(p) for p in held) / max(len(category.words), 1)
    elif any(len(p) > 1 and any(same(w, p[-1]) for w in words) for p in category.phrases):
        level, bonus = HEAD, 0.0
    else:
        return 0.0, 0.0, frozenset()
    glued = ["".join(p) for p in parts if len(p) > 1]
    explained = frozenset(i for i, w in enumerate(words)
                          if any(same(w, n) for n in category.words) or any(same(w, g) for g in glued))
    return level + bonus + 0.5 * len(explained) / len(words), level, explained


def named_categories(words: list[str], categories: list[CatalogCategory]) -> dict[str, float]:
    """``{slug: strength}`` of the categories ``words`` (from :func:`words_of`) name; the
    strength is :data:`EXACT`, :data:`WHOLE`, :data:`FULL` or :data:`HEAD` plus up to 0.5
    for the share of the words the name explains (see the module doc).

    A word that is exactly a word of some category's name is taken as typed; others may
    be one typo off a name word, at :data:`FUZZY_PENALTY`. A category whose explained
    words are fewer than another's, named at least :data:`FULL` ("shirt" in "t-shirt",
    "cameras" in "camera accessories"), or the same words at a lower level, drops below
    :data:`FULL`: it is not what the words name."""
    query = [w for w in words if w not in FILLER][:MAX_WORDS]
    if not query:
        return {}
    vocabulary = {w for category in categories for w in category.words}
    typed = {w for w in query if w in vocabulary or _y_ie(w) in vocabulary}

    def forgiving(word: str, other: str) -> bool:
        return _exact(word, other) or (word not in typed and _same(word, other))

    found: dict[str, tuple[float, float, frozenset[int]]] = {}
    for category in categories:
        strength, level, explained = _strength(query, category, _exact)
        if strength < EXACT:
            fuzzy = _strength(query, category, forgiving)
            if fuzzy[0] - FUZZY_PENALTY > strength:
                strength, level, explained = fuzzy[0] - FUZZY_PENALTY, fuzzy[1], fuzzy[2]
        if strength > 0:
            found[category.slug] = (strength, level, explained)
    strong = [(level, explained) for _, level, explained in found.values() if level >= FULL]
    out: dict[str, float] = {}
    for slug, (strength, level, explained) in found.items():
        if any(explained < e or (explained == e and other >= level + 1) for other, e in strong):
            strength = min(strength, FULL - 0.01)
        out[slug] = round(strength, 6)
    return out


def strongest(named: dict[str, float]) -> frozenset[str]:
    """The categories the words name: every one named at least :data:`FULL` (a query may
    name two: "jacket and gloves"), else the strongest of the weaker ones (ties all count)."""
    if not named:
        return frozenset()
    best = max(named.values())
    floor = FULL if best >= FULL else best - 1e-9
    return frozenset(s for s, n in named.items() if n >= floor)


def categories_for_phrase(phrase: str, categories: list[CatalogCategory]) -> list[str]:
    """Slugs of the categories a hint phrase ("sleeping bags", "shoes") names: the whole
    phrase is one of theirs, or a one-word hint is the last word of one of theirs."""
    words = name_words(phrase)
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
    of the name, one typo), else ``None`` (nothing, or several within
    :data:`AMBIGUOUS_WITHIN` of the best: "kitchen" when the shop has "Kitchen & Dining"
    and "Kitchen & Home Appliances")."""
    found = resolve_category(session, value=value)
    if found is not None or not value:
        return found
    words = words_of(str(value)[:100])
    if not words or len(words) > 6:
        return None
    known = catalog_categories(session)
    named = sorted(named_categories(words, known).items(), key=lambda kv: -kv[1])
    if not named or (len(named) > 1 and named[0][1] - named[1][1] < AMBIGUOUS_WITHIN):
        return None
    winner = next(c for c in known if c.slug == named[0][0])
    return session.get(Category, winner.id)

"""Typo tolerance for the keyword side: query words the index does not know are
corrected against the catalog's own vocabulary (:mod:`retrieval.spelling` over
:meth:`retrieval.keyword.KeywordIndex.vocabulary`).

A word is left alone when the index matches it (its stem included), when it is a
stopword, an everyday word or a need/category word of ``needs.yml``, a number or a
size. The corrector is cached per keyword index and rebuilt when the index's
vocabulary changed, at most every ``REBUILD_S`` seconds (a live product edit between
rebuilds is still matched exactly; it only cannot be a correction target yet).
"""

from __future__ import annotations

import threading
import time
from typing import Any

from retrieval.keyword import KeywordIndex, query_tokens
from retrieval.spelling import Correction, SpellingCorrector
from shop.services.search.needs import load_needs
from shop.services.search.query import STOPWORDS

REBUILD_S = 60.0
MAX_WORDS = 24

_CORRECTORS: dict[int, tuple[Any, int, float, SpellingCorrector]] = {}
_LOCK = threading.Lock()


def corrector_for(keywords: KeywordIndex) -> SpellingCorrector:
    """The spelling corrector over ``keywords``' vocabulary (cached, see the module doc)."""
    now = time.monotonic()
    key = id(keywords)
    with _LOCK:
        entry = _CORRECTORS.get(key)
        if entry is not None and entry[0] is keywords and (
                entry[1] == keywords.generation or now - entry[2] < REBUILD_S):
            return entry[3]
    corrector = SpellingCorrector(keywords.vocabulary(), keep=load_needs().known_words | STOPWORDS)
    with _LOCK:
        _CORRECTORS[key] = (keywords, keywords.generation, now, corrector)
        while len(_CORRECTORS) > 8:
            _CORRECTORS.pop(next(iter(_CORRECTORS)))
    return corrector


def forget_correctors() -> None:
    with _LOCK:
        _CORRECTORS.clear()


def correct_query(keywords: KeywordIndex, text: str) -> Correction:
    """``text`` with the words the index does not know corrected (see the module doc)."""
    words = [w for w in query_tokens(text) if w.isalpha() and len(w) >= 4][:MAX_WORDS]
    if not words:
        return Correction(text)
    known = set(keywords.token_counts(" ".join(words)))
    unknown = [w for w in words if w not in known]
    if not unknown:
        return Correction(text)
    return corrector_for(keywords).correct(text, skip=known | {w for w in query_tokens(text) if w not in unknown})

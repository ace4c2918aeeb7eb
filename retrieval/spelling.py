"""Spelling correction of query words against a vocabulary (a catalog's own words).

:class:`SpellingCorrector` is a SymSpell-style corrector: every vocabulary word's
*deletes* (the strings left after removing up to ``d`` characters from its first
``PREFIX`` characters) are hashed into one sorted ``int64`` array, so candidates for a
query word are found by hashing the query's own deletes and binary-searching that
array; candidates are then checked with the real Damerau-Levenshtein distance (optimal
string alignment: a swap of two neighbours is one edit). A 100k-word vocabulary takes
a few megabytes of arrays and corrects a word in well under a millisecond.

Rules (:meth:`SpellingCorrector.correct_word`):

- words shorter than ``min_length`` (4), words holding a digit (sizes, SKUs, numbers)
  and words in the vocabulary (or in ``keep``) are never changed;
- allowed edits: 1 for words of 4-7 letters, 2 for longer ones;
- among candidates: the fewest edits, then the most frequent word, then the word with
  the same first letter, then alphabetical (deterministic).

Nothing here knows about shops: give it ``{word: frequency}``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np

PREFIX = 7
MAX_WORD = 30
_WORD = re.compile(r"[a-z]+")
_SPAN = re.compile(r"[A-Za-z0-9]+")


def max_edits(word: str) -> int:
    """Edits allowed when correcting ``word``: 0 below 4 letters, 1 for 4-7, 2 from 8."""
    n = len(word)
    return 0 if n < 4 else 1 if n <= 7 else 2


def deletes(word: str, distance: int, *, prefix: int = PREFIX) -> set[str]:
    """``word[:prefix]`` and every string made from it by removing up to ``distance`` characters."""
    out = {word[:prefix]}
    layer = out
    for _ in range(distance):
        layer = {w[:i] + w[i + 1:] for w in layer for i in range(len(w))}
        out |= layer
    return out


def edit_distance(a: str, b: str, limit: int) -> int:
    """Damerau-Levenshtein distance (optimal string alignment) of ``a`` and ``b``, or
    ``limit + 1`` as soon as it is known to exceed ``limit``."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    if a == b:
        return 0
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        cur = [i] + [0] * len(b)
        best = cur[0]
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            value = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                value = min(value, prev2[j - 2] + 1)
            cur[j] = value
            best = min(best, value)
        if best > limit:
            return limit + 1
        prev2, prev = prev, cur
    return prev[len(b)] if prev[len(b)] <= limit else limit + 1


@dataclass(frozen=True)
class Correction:
    """What :meth:`SpellingCorrector.correct` did: the ``text`` with corrected words
    substituted, and ``changes`` (original word, correction) in query order."""

    text: str
    changes: list[tuple[str, str]] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.changes)


class SpellingCorrector:
    """Corrects words against ``vocabulary`` (``{word: frequency}``; lower-case letters).

    ``keep``: words never corrected although not in the vocabulary (common words of the
    language, say). ``min_length``: shortest word corrected.
    """

    def __init__(self, vocabulary: Mapping[str, int], *, keep: Iterable[str] = (), min_length: int = 4) -> None:
        words = sorted(w for w, n in vocabulary.items() if n > 0 and 3 <= len(w) <= MAX_WORD and _WORD.fullmatch(w))
        self.words = words
        self.freq = np.array([int(vocabulary[w]) for w in words], dtype=np.int64)
        self.known = frozenset(vocabulary)
        self.keep = frozenset(w.lower() for w in keep)
        self.min_length = max(1, min_length)
        keys: list[int] = []
        ids: list[int] = []
        for i, word in enumerate(words):
            # a query word within 2 edits has 6+ letters only if this one has 4+
            found = deletes(word, 2 if len(word) >= 6 else 1)
            keys.extend(map(hash, found))
            ids.extend([i] * len(found))
        order = np.argsort(np.array(keys, dtype=np.int64), kind="stable")
        self._keys = np.array(keys, dtype=np.int64)[order]
        self._ids = np.array(ids, dtype=np.int32)[order]

    def __len__(self) -> int:
        return len(self.words)

    def is_known(self, word: str) -> bool:
        return word in self.known or word in self.keep

    def candidates(self, word: str) -> list[tuple[str, int, int]]:
        """``(vocabulary word, edits, frequency)`` within :func:`max_edits` of ``word``, best first."""
        limit = max_edits(word)
        if limit == 0 or len(word) > MAX_WORD:
            return []
        probe = np.array([hash(d) for d in deletes(word, limit)], dtype=np.int64)
        left = np.searchsorted(self._keys, probe, side="left")
        right = np.searchsorted(self._keys, probe, side="right")
        seen: set[int] = set()
        for lo, hi in zip(left.tolist(), right.tolist(), strict=True):
            seen.update(self._ids[lo:hi].tolist())
        found = []
        for i in seen:
            candidate = self.words[i]
            d = edit_distance(word, candidate, limit)
            if d <= limit:
                found.append((candidate, d, int(self.freq[i])))
        found.sort(key=lambda c: (c[1], -c[2], c[0][0] != word[0], c[0]))
        return found

    def correct_word(self, word: str) -> str:
        """``word`` (lower-cased) corrected, or unchanged (see the module doc for the rules)."""
        word = word.lower()
        if (len(word) < self.min_length or not _WORD.fullmatch(word) or self.is_known(word)):
            return word
        found = self.candidates(word)
        return found[0][0] if found else word

    def correct(self, text: str, *, skip: Iterable[str] = ()) -> Correction:
        """``text`` with each unknown word (a run of ASCII letters) corrected in place,
        lower-cased; everything else is left as it is. ``skip``: words to leave alone
        (e.g. words the caller's index matches already)."""
        skipped = {w.lower() for w in skip}
        changes: list[tuple[str, str]] = []

        def fix(match: re.Match[str]) -> str:
            token = match.group(0)
            low = token.lower()
            if low in skipped:
                return token
            fixed = self.correct_word(low)
            if fixed == low:
                return token
            changes.append((low, fixed))
            return fixed

        fixed_text = _SPAN.sub(fix, text or "")
        return Correction(fixed_text if changes else (text or ""), changes)

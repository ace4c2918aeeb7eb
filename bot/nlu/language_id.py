"""A small, dependency-free check for "this message is not in English".

Two kinds of evidence, both read from ``language_profiles.json`` (data, not code):

- **script**: a message written mostly in Hangul, kana, Han, Cyrillic, Arabic, Hebrew,
  Greek, Devanagari, Thai (…) is that script's language (kana -> ``ja``; Cyrillic with
  Ukrainian letters -> ``uk``; Arabic with Persian letters -> ``fa``). "Mostly" compares
  the script's words (for Han, kana and Thai: two characters count as a word) with the
  Latin-letter words around them, so an English question naming a Chinese brand stays
  English.
- **words** (Latin script): each language's frequent words are counted as whole tokens,
  and its typical letters (``ñ``, ``ß``, ``ł`` …) add a little. A message is foreign
  only when it has at least ``min_words`` words, the best foreign language has at least
  one word English doesn't have and ``min_hits`` in all (words English has too, like
  "no" or "me", count ``shared_weight``), beats English's own word hits and covers
  ``min_share`` of the words. E-mails, URLs, numbers and courtesy words ("merci",
  "gracias") count for nobody, so English with a foreign name, an address abroad or a
  "gracias!" stays English, and so does a short or typo-heavy English message, which has
  no foreign evidence at all.

:func:`foreign_language` is what the Rasa component calls: the ISO 639-1 code of a
non-English message, or ``None`` (English, or not sure: the shopper is then simply
understood as usual).
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

PROFILES_PATH = Path(__file__).with_name("language_profiles.json")
#: only the start of a huge message is read
MAX_CHARS = 2000

_SCRIPT_RANGES: tuple[tuple[int, int, str], ...] = (
    (0xAC00, 0xD7AF, "hangul"), (0x1100, 0x11FF, "hangul"), (0x3130, 0x318F, "hangul"),
    (0x3040, 0x30FF, "kana"), (0x31F0, 0x31FF, "kana"), (0xFF66, 0xFF9F, "kana"),
    (0x4E00, 0x9FFF, "han"), (0x3400, 0x4DBF, "han"), (0xF900, 0xFAFF, "han"),
    (0x0400, 0x04FF, "cyrillic"), (0x0500, 0x052F, "cyrillic"),
    (0x0600, 0x06FF, "arabic"), (0x0750, 0x077F, "arabic"), (0xFB50, 0xFDFF, "arabic"), (0xFE70, 0xFEFF, "arabic"),
    (0x0590, 0x05FF, "hebrew"),
    (0x0370, 0x03FF, "greek"), (0x1F00, 0x1FFF, "greek"),
    (0x0900, 0x097F, "devanagari"), (0x0980, 0x09FF, "bengali"), (0x0B80, 0x0BFF, "tamil"),
    (0x0E00, 0x0E7F, "thai"), (0x0530, 0x058F, "armenian"), (0x10A0, 0x10FF, "georgian"),
)
#: scripts written without spaces between words: two characters count as one word
_UNSPACED = frozenset({"han", "kana", "thai"})

_EMAIL_RE = re.compile(r"\S+@\S+")
_URL_RE = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
_TOKEN_RE = re.compile(r"[^\W\d_]+(?:'[^\W\d_]*)*")
_HAS_DIGIT_RE = re.compile(r"\S*\d\S*")
_ELISIONS = frozenset({"l", "d", "j", "c", "n", "s", "m", "t", "qu", "dov", "un", "all", "dell", "nell", "sull"})


@dataclass(frozen=True)
class Profiles:
    """The detector's data (see ``language_profiles.json``)."""

    words: dict[str, frozenset[str]]
    markers: dict[str, tuple[str, ...]]
    neutral: frozenset[str]
    scripts: dict[str, str]
    cyrillic_letters: dict[str, str]
    arabic_letters: dict[str, str]
    min_words: int = 3
    min_hits: float = 2.0
    marker_weight: float = 0.5
    marker_cap: int = 2
    english_margin: float = 1.0
    min_share: float = 0.3
    shared_weight: float = 0.5
    known: frozenset[str] = field(default=frozenset())

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Profiles:
        languages = raw["languages"]
        words = {code: frozenset(w.lower() for w in spec.get("words", [])) for code, spec in languages.items()}
        return cls(
            words=words,
            markers={code: tuple(spec.get("markers", [])) for code, spec in languages.items()},
            neutral=frozenset(w.lower() for w in raw.get("neutral", [])),
            scripts=dict(raw.get("scripts", {})),
            cyrillic_letters=dict(raw.get("cyrillic_letters", {})),
            arabic_letters=dict(raw.get("arabic_letters", {})),
            min_words=int(raw.get("min_words", 3)),
            min_hits=float(raw.get("min_hits", 2)),
            marker_weight=float(raw.get("marker_weight", 0.5)),
            marker_cap=int(raw.get("marker_cap", 2)),
            english_margin=float(raw.get("english_margin", 1.0)),
            min_share=float(raw.get("min_share", 0.3)),
            shared_weight=float(raw.get("shared_weight", 0.5)),
            known=frozenset().union(*words.values()),
        )


@lru_cache(maxsize=4)
def load_profiles(path: str | None = None) -> Profiles:
    """The profiles in ``path`` (default: the file next to this module), read once."""
    source = Path(path) if path else PROFILES_PATH
    return Profiles.from_dict(json.loads(source.read_text(encoding="utf-8")))


@dataclass(frozen=True)
class LanguageGuess:
    """What the detector concluded: ``code`` (``"en"`` for English or unsure),
    ``evidence`` (``"script"``, ``"words"`` or ``"none"``) and per-language scores."""

    code: str
    evidence: str
    scores: dict[str, float] = field(default_factory=dict)

    @property
    def foreign(self) -> bool:
        return self.code != "en"


def _script(ch: str) -> str | None:
    cp = ord(ch)
    for low, high, name in _SCRIPT_RANGES:
        if low <= cp <= high:
            return name
    return None


def _clean(text: str) -> str:
    text = unicodedata.normalize("NFC", text[:MAX_CHARS]).replace("\u2019", "'").replace("`", "'")
    text = _URL_RE.sub(" ", text)
    text = _EMAIL_RE.sub(" ", text)
    return _HAS_DIGIT_RE.sub(" ", text)


def _script_guess(text: str, profiles: Profiles) -> str | None:
    """The language of the non-Latin script that dominates ``text``, if one does."""
    letters: dict[str, int] = {}
    words: dict[str, int] = {}
    latin_words = 0
    for token in re.findall(r"[^\W\d_]+", text):
        seen: set[str] = set()
        for ch in token:
            name = _script(ch)
            if name is not None:
                letters[name] = letters.get(name, 0) + 1
                seen.add(name)
        if not seen:
            latin_words += 1
        for name in seen - _UNSPACED:
            words[name] = words.get(name, 0) + 1
    for name in _UNSPACED:
        if letters.get(name):
            words[name] = words.get(name, 0) + max(1, letters[name] // 2)
    if "kana" in words and "han" in words:  # Japanese mixes kanji with kana
        words["kana"] += words.pop("han")
    if sum(letters.values()) < 2 or not words:
        return None
    script, units = max(words.items(), key=lambda kv: kv[1])
    if units <= latin_words:
        return None
    code = profiles.scripts.get(script)
    if code is None:
        return None
    special = {"cyrillic": profiles.cyrillic_letters, "arabic": profiles.arabic_letters}.get(script, {})
    for other, chars in special.items():
        if any(c in text for c in chars):
            return other
    return code


def _tokens(text: str) -> list[str]:
    out: list[str] = []
    for raw in _TOKEN_RE.findall(text.lower()):
        if "'" not in raw:
            out.append(raw)
            continue
        left, _, right = raw.partition("'")
        if left in _ELISIONS:
            out.append(f"{left}'")
            if right:
                out.extend(_tokens(right))
        else:
            if left:
                out.append(left)
            if right:
                out.append(f"'{right.split(chr(39))[0]}")
    return out


def guess_language(text: str, *, profiles: Profiles | None = None) -> LanguageGuess:
    """The detector's full conclusion about ``text`` (see the module docstring)."""
    profiles = profiles or load_profiles()
    if not isinstance(text, str) or not text.strip():
        return LanguageGuess("en", "none")
    cleaned = _clean(text)
    script_code = _script_guess(cleaned, profiles)
    if script_code is not None:
        return LanguageGuess(script_code, "script")
    # elisions are split off ("l'attends" -> "l'", "attends"), English clitics too ("it's" -> "it", "'s")
    tokens = _tokens(cleaned)
    if len(tokens) < profiles.min_words:
        return LanguageGuess("en", "none")
    english = profiles.words.get("en", frozenset())
    counted = [t for t in tokens if t not in profiles.neutral]
    en_hits = sum(1 for t in counted if t in english)
    scores: dict[str, float] = {"en": float(en_hits)}
    best, best_score, best_hits = "en", 0.0, 0.0
    for code, vocab in profiles.words.items():
        if code == "en":
            continue
        own = sum(1 for t in counted if t in vocab and t not in english)
        if own == 0:  # words English has too ("in", "no", "me") never decide alone
            continue
        hits = own + profiles.shared_weight * sum(1 for t in counted if t in vocab and t in english)
        marked = sum(
            1 for t in counted
            if t not in english and t not in vocab and any(m in t for m in profiles.markers.get(code, ()))
        )
        # ¿ ¡ and similar marks stand outside the tokens
        marked += sum(1 for m in profiles.markers.get(code, ()) if not m.isalpha() and m in cleaned)
        score = hits + profiles.marker_weight * min(marked, profiles.marker_cap)
        scores[code] = score
        if score > best_score or (score == best_score and hits > best_hits):
            best, best_score, best_hits = code, score, hits
    if (
        best != "en"
        and best_score >= profiles.min_hits
        and best_score > profiles.english_margin * en_hits
        and best_score / len(tokens) >= profiles.min_share
    ):
        return LanguageGuess(best, "words", scores)
    return LanguageGuess("en", "words" if en_hits else "none", scores)


def foreign_language(text: str, *, profiles: Profiles | None = None) -> str | None:
    """The ISO 639-1 code of ``text`` when it is clearly not English, else ``None``."""
    guess = guess_language(text, profiles=profiles)
    return guess.code if guess.foreign else None

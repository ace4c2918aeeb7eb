"""Seeded noise on the plain-text parts of an example: informal register, typos,
casing. Entity values are never touched except by casing (see ``Segment``)."""

from __future__ import annotations

import random
import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Segment:
    """A piece of an example: plain ``text``, or an entity value when ``entity`` is set."""

    text: str
    entity: str | None = None


LETTERS = re.compile(r"[a-z]{4,}")


def informal(text: str, forms: dict[str, list[str]], rng: random.Random, *, rate: float = 0.6) -> str:
    """Replace whole words/phrases by informal forms (``you`` -> ``u``) with probability ``rate``."""
    for word, options in forms.items():
        pattern = re.compile(rf"(?<![\w']){re.escape(word)}(?![\w'])", re.IGNORECASE)
        if pattern.search(text) and rng.random() < rate:
            choice = options[rng.randrange(len(options))]
            text = pattern.sub(choice, text)
    return text


def _typo(word: str, rng: random.Random) -> str:
    i = rng.randrange(1, len(word) - 1)  # keep the first letter, like most real typos
    op = rng.randrange(3)
    if op == 0:  # drop a letter
        return word[:i] + word[i + 1:]
    if op == 1:  # swap two neighbours
        return word[:i] + word[i + 1] + word[i] + word[i + 2:]
    return word[:i] + word[i] + word[i:]  # double a letter


def typos(text: str, rng: random.Random, *, rate: float = 0.15, max_typos: int = 2) -> str:
    """Misspell words of 4+ letters at ``rate`` each, at most ``max_typos`` per text."""
    out: list[str] = []
    made = 0
    pos = 0
    for match in LETTERS.finditer(text):
        out.append(text[pos:match.start()])
        word = match.group(0)
        if made < max_typos and rng.random() < rate:
            word = _typo(word, rng)
            made += 1
        out.append(word)
        pos = match.end()
    out.append(text[pos:])
    return "".join(out)


def apply_casing(segments: list[Segment], style: str) -> list[Segment]:
    """``lower``, ``upper``, ``sentence`` (first letter capital) or ``keep``."""
    if style == "keep":
        return segments
    if style in ("lower", "upper"):
        return [Segment(s.text if s.entity == "email" else (s.text.lower() if style == "lower" else s.text.upper()),
                        s.entity) for s in segments]
    out = apply_casing(segments, "lower")
    for i, seg in enumerate(out):
        stripped = seg.text.lstrip()
        if stripped:
            lead = seg.text[: len(seg.text) - len(stripped)]
            out[i] = Segment(lead + stripped[0].upper() + stripped[1:], seg.entity)
            break
    return out


def render(segments: list[Segment]) -> str:
    """Rasa training-data markup: ``[value](entity)`` for entities, whitespace tidied."""
    parts = [f"[{s.text}]({s.entity})" if s.entity else s.text for s in segments]
    return re.sub(r"\s+", " ", "".join(parts)).strip()


def plain(segments: list[Segment]) -> str:
    """The text a shopper would type (no markup)."""
    return re.sub(r"\s+", " ", "".join(s.text for s in segments)).strip()

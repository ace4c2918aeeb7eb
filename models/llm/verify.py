"""Checks that an LLM's text states only what its facts say.

:func:`unsupported` lists each claim in the text that the facts do not contain:

- percentages must be percentages in the facts (``20%`` is not grounded by "20 reviews");
- prices: a ``$`` amount must be a ``$`` amount in the facts (``$80`` matches ``$80.00``);
- other numbers: counts, days, sizes like ``10.5``, ratings (``4.6/5``), compared as
  numbers with any number in the facts; a number with a unit (``10 inches``, ``780 g``,
  ``30 days``) must appear with the same unit in the facts, so a shoe size cannot ground
  a height;
- letter sizes (``XS`` ... ``XXXL``);
- codes: words in capitals with a digit (``SAVE20``, SKUs);
- names: capitalised words that are not sentence starts or common words must occur
  in the facts (an invented brand or product fails);
- commerce promises (``free``, ``discount``, ``coupon``, ``warranty``, ...) that the
  facts never mention.

:func:`echoes` tells whether the text repeats a run of the system prompt.
:func:`required_missing` lists facts that must appear verbatim (a promo's code,
discount, price and expiry). Both return human-readable problems; empty means it passed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_NUMBER = re.compile(r"(?<![A-Za-z0-9])\$?\d[\d,]*(?:\.\d+)?")
_PERCENT = re.compile(r"(\d+(?:\.\d+)?)\s?(?:%|percent\b)", re.I)
_SIZE = re.compile(r"\b(XXS|XS|S|M|L|XL|XXL|XXXL)\b")
_CODE = re.compile(r"\b(?=[A-Z0-9-]*\d)(?=[A-Z0-9-]*[A-Z])[A-Z0-9][A-Z0-9-]{3,}\b")
_WORD = re.compile(r"[A-Za-z][A-Za-z'’&-]*")
UNITS: dict[str, str] = {
    "g": "g", "gram": "g", "grams": "g", "kg": "kg", "kilo": "kg", "kilos": "kg", "kilograms": "kg",
    "oz": "oz", "ounce": "oz", "ounces": "oz", "lb": "lb", "lbs": "lb", "pound": "lb", "pounds": "lb",
    "mm": "mm", "cm": "cm", "meters": "m", "metres": "m", "inch": "in", "inches": "in",
    "ft": "ft", "feet": "ft", "foot": "ft", "l": "l", "liter": "l", "liters": "l", "litre": "l", "litres": "l",
    "day": "day", "days": "day", "hour": "hour", "hours": "hour", "week": "week", "weeks": "week",
    "month": "month", "months": "month", "year": "year", "years": "year", "f": "F", "°f": "F", "c": "C", "°c": "C",
    "degrees": "deg", "mah": "mAh",
}
_WITH_UNIT = re.compile(r"(?<![A-Za-z0-9.])(\d[\d,]*(?:\.\d+)?)\s?(°?[a-zA-Z]+)\b")


def measures_in(text: str) -> set[tuple[float, str]]:
    """``(number, unit)`` pairs in ``text`` ("780 g", "30 days", "0F"), units normalised."""
    out: set[tuple[float, str]] = set()
    for number, unit in _WITH_UNIT.findall(text or ""):
        norm = UNITS.get(unit.lower())
        value = _num(number)
        if norm and value is not None:
            out.add((value, norm))
    return out
PROMISES = ("free", "discount", "coupon", "voucher", "promo", "code", "warranty", "guarantee", "lifetime",
            "refund", "price match", "% off", "percent off", "gift card", "cashback")
COMMON = frozenset([
    "a", "an", "and", "are", "as", "at", "be", "but", "by", "can", "could", "did", "do", "does", "for", "from",
    "had", "has", "have", "he", "her", "his", "how", "i", "if", "in", "is", "it", "its", "just", "let", "may",
    "me", "might", "more", "most", "my", "no", "not", "of", "on", "or", "our", "she", "so", "some", "such",
    "than", "that", "the", "their", "them", "then", "there", "these", "they", "this", "those", "to", "up", "us",
    "was", "we", "were", "what", "when", "where", "which", "while", "who", "why", "will", "with", "would", "yes",
    "you", "your", "yours", "hi", "hello", "thanks", "thank", "sorry", "great", "good", "sure", "unfortunately",
    "however", "also", "both", "each", "either", "neither", "here", "please", "note", "based", "according",
    "overall", "compared", "while", "whereas", "if", "so", "because", "since", "although", "though"
])


def _num(token: str) -> float | None:
    try:
        return round(float(token.replace("$", "").replace(",", "")), 2)
    except ValueError:
        return None


def numbers_in(text: str) -> set[float]:
    """Every number in ``text``, as floats rounded to cents."""
    return {n for n in (_num(t) for t in _NUMBER.findall(text or "")) if n is not None}


def _names(text: str) -> list[str]:
    """Capitalised words that are not the first word of a sentence or common words."""
    names: list[str] = []
    for sentence in re.split(r"(?<=[.!?:;\n])\s+|\n", text or ""):
        words = _WORD.findall(sentence)
        for word in words[1:]:
            clean = word.strip("'’-&")
            if clean[:1].isupper() and clean.lower() not in COMMON and not _SIZE.fullmatch(clean):
                names.append(clean)
    return names


def unsupported(text: str, facts: str, *, allowed: Iterable[str] = ()) -> list[str]:
    """The claims in ``text`` that ``facts`` do not support; ``[]`` when every claim is
    grounded. ``allowed``: other texts (the shopper's own question) whose *words* may be
    echoed ("good for Scotland?"), never their numbers, sizes, codes or promises: a
    shopper cannot ground "$1" by typing it."""
    source = facts or ""
    low_source = source.lower()
    low_words = "\n".join([source, *allowed]).lower()
    problems: list[str] = []
    known_numbers = numbers_in(source)
    known_money = {n for n in (_num(t) for t in _NUMBER.findall(source) if t.startswith("$")) if n is not None}
    for token in _NUMBER.findall(text or ""):
        value = _num(token)
        if value is None:
            continue
        if token.startswith("$") and value not in known_money:
            problems.append(f"the price {token} is not a price in the facts")
        elif value not in known_numbers:
            problems.append(f"the number {token} is not in the facts")
    known_measures = measures_in(source)
    for value, unit in measures_in(text or "") - known_measures:
        if value in known_numbers and (value, unit) not in known_measures:
            problems.append(f"the measure {value:g} {unit} is not in the facts")
    known_percents = {float(p) for p in _PERCENT.findall(source)}
    for pct in _PERCENT.findall(text or ""):
        if float(pct) not in known_percents:
            problems.append(f"the percentage {pct}% is not in the facts")
    known_sizes = set(_SIZE.findall(source))
    for size in dict.fromkeys(_SIZE.findall(text or "")):
        # one letter is a size only when called one ("size M"); "I" or "a" never are
        said_as_size = len(size) > 1 or re.search(rf"\bsizes? (?:[A-Z]+, |[A-Z]+ or |[A-Z]+ and )*{size}\b", text or "")
        if said_as_size and size not in known_sizes:
            problems.append(f"the size {size} is not in the facts")
    for code in _CODE.findall(text or ""):
        if code.lower() not in low_source:
            problems.append(f"the code {code} is not in the facts")
    for name in _names(_CODE.sub(" ", text or "")):
        if name.lower() not in low_words:
            problems.append(f"the name {name} is not in the facts")
    low_text = (text or "").lower()
    for word in PROMISES:
        if re.search(rf"(?<![a-z]){re.escape(word)}(?![a-z])", low_text) and word not in low_source:
            problems.append(f"'{word}' is not in the facts")
    return list(dict.fromkeys(problems))


def echoes(text: str, secret: str, *, words: int = 6) -> bool:
    """Whether ``text`` repeats any ``words`` consecutive words of ``secret`` (a system
    prompt leaking), ignoring case and punctuation."""
    def norm(value: str) -> list[str]:
        return re.findall(r"[a-z0-9]+", (value or "").lower())

    have = " " + " ".join(norm(text)) + " "
    seq = norm(secret)
    return any(f" {' '.join(seq[i:i + words])} " in have for i in range(max(0, len(seq) - words + 1)))


def required_missing(text: str, required: Iterable[str]) -> list[str]:
    """The ``required`` strings that ``text`` does not contain (case-insensitive; a
    price also passes as the same number in another format)."""
    low = (text or "").lower()
    have = numbers_in(text)
    missing: list[str] = []
    for item in required:
        if item.lower() in low:
            continue
        value = _num(item) if _NUMBER.fullmatch(item.strip()) else None
        if value is not None and value in have:
            continue
        missing.append(f"it must state {item}")
    return missing


NEGATION = re.compile(r"\b(no|not|never|none|nothing|doesn't|does not|isn't|is not|aren't|are not|don't|do not|"
                      r"won't|wouldn't|can't|cannot|sold out|out of stock|without)\b|n't\b", re.I)


def flips_answer(text: str, reference: str) -> bool:
    """Whether ``text`` turns a yes into a no or back: one of the two says no (a negation
    word) and the other does not. Used when the LLM rewords a yes/no answer."""
    return bool(NEGATION.search(text or "")) != bool(NEGATION.search(reference or ""))

"""Deterministic parsers for values shoppers type: order numbers, emails, prices,
ordinals and postal addresses.

They never raise on odd input (empty, huge, binary-looking or hostile text): they
return ``None`` (or empty results) when nothing valid is found. Input longer than
``MAX_PARSE_CHARS`` is cut before parsing so a pasted essay costs nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_PARSE_CHARS = 2_000

ORDER_NUMBER_RE = re.compile(r"(?<![\w-])#?\s?(\d{6})(?![\w-])")
EMAIL_RE = re.compile(
    r"(?<![\w.+-])([A-Za-z0-9][A-Za-z0-9._%+-]{0,63}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63})*\.[A-Za-z]{2,24})(?![\w-])"
)
_NUM = r"\$?\s?(\d{1,6}(?:[.,]\d{1,2})?)\s?(?:usd|dollars?|bucks|\$)?"
_BETWEEN_RE = re.compile(rf"(?:between|from)\s+{_NUM}\s+(?:and|to|-)\s+{_NUM}", re.I)
_RANGE_RE = re.compile(rf"{_NUM}\s?(?:-|–|to)\s?{_NUM}", re.I)
_MAX_RE = re.compile(
    rf"(?:under|below|less than|cheaper than|max(?:imum)?|at most|up to|no more than|<|<=|within)\s*{_NUM}",
    re.I,
)
_MIN_RE = re.compile(
    rf"(?:over|above|more than|at least|min(?:imum)?|starting at|from|>|>=)\s*{_NUM}", re.I
)

ORDINALS = {
    "first": 1, "1st": 1, "one": 1,
    "second": 2, "2nd": 2, "two": 2,
    "third": 3, "3rd": 3, "three": 3,
    "fourth": 4, "4th": 4, "four": 4,
    "fifth": 5, "5th": 5, "five": 5,
    "sixth": 6, "6th": 6, "six": 6,
    "seventh": 7, "7th": 7, "eighth": 8, "8th": 8, "ninth": 9, "9th": 9,
    "tenth": 10, "10th": 10,
}
_ORDINAL_RE = re.compile(
    r"\b(" + "|".join(sorted(ORDINALS, key=len, reverse=True)) + r")\b"
    r"|(?:#|no\.?|number|item|option)\s*(\d{1,2})\b|^\s*(\d{1,2})\s*$|\b(\d{1,3})(?:st|nd|rd|th)\b",
    re.I,
)


def _clip(text: str | None) -> str:
    if not text:
        return ""
    return str(text)[:MAX_PARSE_CHARS]


def parse_order_number(text: str | None) -> str | None:
    """The first 6-digit order number in ``text`` (``"#100234"`` -> ``"100234"``)."""
    match = ORDER_NUMBER_RE.search(_clip(text))
    return match.group(1) if match else None


def parse_email(text: str | None) -> str | None:
    """The first email address in ``text``, lower-cased, or ``None``."""
    match = EMAIL_RE.search(_clip(text))
    return match.group(1).lower() if match else None


def _to_cents(raw: str) -> int:
    return int(round(float(raw.replace(",", ".")) * 100))


def parse_price_range(text: str | None) -> tuple[int | None, int | None]:
    """``(min_cents, max_cents)`` from phrases like "under 150", "between 50 and 100",
    "over $200" or "50-80"; either side is ``None`` when not stated."""
    clipped = _clip(text)
    for pattern in (_BETWEEN_RE, _RANGE_RE):
        match = pattern.search(clipped)
        if match:
            first, second = sorted((_to_cents(match.group(1)), _to_cents(match.group(2))))
            return first, second
    high_match = _MAX_RE.search(clipped)
    low_match = _MIN_RE.search(clipped)
    high = _to_cents(high_match.group(1)) if high_match else None
    low = _to_cents(low_match.group(1)) if low_match else None
    if low is not None and high is not None and low > high:
        low, high = high, low
    return low, high


def parse_ordinal(text: str | None) -> int | None:
    """A 1-based position from "the second one", "#3", "number 2" or a bare "2";
    ``"last"`` returns ``-1``."""
    clipped = _clip(text)
    if re.search(r"\blast\b", clipped, re.I):
        return -1
    match = _ORDINAL_RE.search(clipped)
    if not match:
        return None
    while match and match.group(1) and match.group(1).lower() == "one" and _NOT_AN_ORDINAL_RE.search(
            clipped[:match.start()]):
        match = _ORDINAL_RE.search(clipped, match.end())  # "this one", "a cheaper one": no position
    if not match:
        return None
    if match.group(1):
        return ORDINALS[match.group(1).lower()]
    return int(match.group(2) or match.group(3) or match.group(4))


_NOT_AN_ORDINAL_RE = re.compile(
    r"\b(this|that|which|a|an|another|any|the same|same|similar|other|cheaper|better|new|blue|red|black|"
    r"green|white|grey|gray|bigger|smaller|good|nice)\s+$", re.I)
CHEAPER_RE = re.compile(r"\b(cheaper|less expensive|lower[- ]priced|lower price|more affordable|"
                        r"(?:not|less) (?:so|as) (?:expensive|pricey)|too (?:expensive|pricey|much))\b", re.I)
_COLOUR_ONLY_RE = re.compile(
    r"^\s*(?:(?:and|but|ok|okay|what about|how about|any|anything|something|got|do you have|have you got|"
    r"show me|only|just|same|the same)\s+)*(?:(?:it|them|those|these|one|ones|any|some|that|this)\s+)?"
    r"in\s+([a-z]+(?:\s[a-z]+)?)(?:\s+(?:ones?|instead|please|too|colou?r))*\s*[?.!]*\s*$", re.I)
_BARE_ORDINAL_RE = re.compile(
    r"^\s*(?:(?:ok|okay|and|so|show me|tell me about|more about|what about|how about|let'?s see|i like|"
    r"details (?:of|on|for))\s+)*(?:the\s+)?(?:" + "|".join(sorted(ORDINALS, key=len, reverse=True)) +
    r"|last|#\s?\d{1,2}|number \d{1,2})(?:\s+(?:one|item|option|product))?(?:\s+please)?\s*[?.!]*\s*$", re.I)


def asks_cheaper(text: str | None) -> bool:
    """"cheaper", "anything less expensive?", "too pricey": lower the budget."""
    return bool(CHEAPER_RE.search(_clip(text)))


def colour_only(text: str | None) -> str | None:
    """The colour of a message that only asks for another colour ("in blue", "any in
    red?", "what about in dark green"), lower-cased, else ``None``."""
    match = _COLOUR_ONLY_RE.match(_clip(text)[:200])
    return match.group(1).lower() if match else None


def bare_ordinal(text: str | None) -> bool:
    """Whether the message only points at a shown product ("the second one", "#3",
    "show me the last one")."""
    return bool(_BARE_ORDINAL_RE.match(_clip(text)[:200]))


@dataclass(frozen=True)
class Address:
    """A shipping address. ``country`` is ISO 3166 alpha-2; default ``US``."""

    line1: str
    city: str
    postcode: str
    line2: str | None = None
    country: str = "US"

    def one_line(self) -> str:
        parts = [self.line1, self.line2, f"{self.city} {self.postcode}", self.country]
        return ", ".join(p for p in parts if p)


ADDRESS_HELP = (
    "Please give the full address on one line: street and number, city and postcode, "
    "for example \"12 Oak Street, Springfield 62704\"."
)
_POSTCODE_RE = re.compile(r"\b([A-Z]{1,2}\d[A-Z\d]?\s?\d[A-Z]{2}|\d{4,6}(?:-\d{4})?|[A-Z]\d[A-Z]\s?\d[A-Z]\d)\b", re.I)
_ALLOWED_ADDRESS_RE = re.compile(r"^[\w\s.,'#/&()-]+$", re.UNICODE)


def parse_address(text: str | None) -> Address | str:
    """An :class:`Address` from one line of text, or an error message saying what is
    allowed. Accepts "street and number, [line 2,] city postcode[, country]"."""
    clipped = " ".join(_clip(text).split())
    if not 10 <= len(clipped) <= 200:
        return ADDRESS_HELP
    if not _ALLOWED_ADDRESS_RE.match(clipped):
        return "An address may contain letters, digits, spaces and , . ' # / & ( ) -. " + ADDRESS_HELP
    parts = [p.strip() for p in clipped.split(",") if p.strip()]
    if len(parts) < 2 or not re.search(r"\d", parts[0]):
        return ADDRESS_HELP
    country = "US"
    if len(parts) >= 3 and re.fullmatch(r"[A-Za-z]{2}", parts[-1]):
        country = parts.pop().upper()
    city_part = parts[-1]
    postcode_match = _POSTCODE_RE.search(city_part)
    if not postcode_match:
        return "I couldn't find a postcode. " + ADDRESS_HELP
    postcode = postcode_match.group(1).upper()
    city = (city_part[: postcode_match.start()] + city_part[postcode_match.end():]).strip(" ,")
    if not city:
        return "I couldn't find the city. " + ADDRESS_HELP
    line2 = ", ".join(parts[1:-1]) or None
    return Address(line1=parts[0], line2=line2, city=city, postcode=postcode, country=country)

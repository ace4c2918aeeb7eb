"""Cell values of catalog CSV rows: the importer's limits, and parsing of prices, whole
numbers, HTML descriptions, slugs and gender words."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from html.parser import HTMLParser
from typing import Any

MAX_PRICE_CENTS = 1_000_000_00
MAX_STOCK = 10_000_000
# lengths of the database columns the importer writes
MAX_LEN = {"handle": 200, "title": 300, "sku": 80, "product_sku": 64, "size": 40, "colour": 40,
           "image_url": 500, "name": 120}



class _TextExtractor(HTMLParser):
    BLOCK = frozenset({"p", "br", "div", "li", "ul", "ol", "tr", "h1", "h2", "h3", "h4", "h5", "h6",
                       "table", "section", "blockquote"})
    SKIP = frozenset({"script", "style"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.SKIP:
            self._skipping += 1
        elif tag in self.BLOCK:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.SKIP:
            self._skipping = max(0, self._skipping - 1)
        elif tag in self.BLOCK:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(data)


def strip_html(value: str) -> str:
    """Plain text of an HTML fragment: tags removed, entities decoded, whitespace
    collapsed, paragraphs and list items on their own lines."""
    parser = _TextExtractor()
    parser.feed(value)
    parser.close()
    text = "".join(parser.parts)
    lines = (" ".join(line.split()) for line in text.splitlines())
    return "\n".join(line for line in lines if line)


def slugify(value: str) -> str:
    """``"Cedar & Pine"`` -> ``"cedar-and-pine"``; accents folded to ASCII."""
    ascii_text = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode("ascii")
    ascii_text = ascii_text.lower().replace("&", " and ").replace("'", "")
    return re.sub(r"[^a-z0-9]+", "-", ascii_text).strip("-")


def fit_length(value: str, limit: int) -> str:
    """``value`` cut to ``limit`` characters, keeping it unique with a short hash."""
    if len(value) <= limit:
        return value
    digest = hashlib.sha1(value.encode("utf-8"), usedforsecurity=False).hexdigest()[:8]
    return f"{value[:limit - 9]}-{digest}"


_MONEY_CHARS = re.compile(r"[\s$€£¥]|USD|EUR|GBP|CAD|AUD", re.IGNORECASE)


def parse_money(raw: str) -> int | None:
    """Cents from a price like ``"129.95"``, ``"$1,299.00"`` or ``"129,95"``; ``None`` if
    it is not a number. Rounds half up to whole cents."""
    text = _MONEY_CHARS.sub("", raw)
    if re.fullmatch(r"-?\d{1,3}(,\d{3})+(\.\d+)?", text):
        text = text.replace(",", "")
    elif re.fullmatch(r"-?\d+,\d{1,2}", text):
        text = text.replace(",", ".")
    if not re.fullmatch(r"-?\d+(\.\d*)?|-?\.\d+", text):
        return None
    try:
        amount = Decimal(text)
    except InvalidOperation:
        return None
    return int((amount * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def parse_int(raw: str) -> int | None:
    """A whole number like ``"12"``, ``"1,200"`` or ``"3.0"``; ``None`` otherwise."""
    text = raw.strip().replace(",", "")
    if re.fullmatch(r"-?\d+(\.0+)?", text):
        return int(Decimal(text))
    return None


def first_value(row: dict[str, Any], columns: list[str]) -> str:
    """The first non-blank cell of ``columns`` in ``row``, stripped (``""`` if none)."""
    for col in columns:
        value = row.get(col)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return ""


_WORD_RE = re.compile(r"[a-z']+")
_MEN = frozenset({"men", "mens", "men's", "male", "man", "m"})
_WOMEN = frozenset({"women", "womens", "women's", "female", "woman", "ladies", "w", "f"})


def guess_gender(explicit: str, title: str, tags: list[str]) -> str:
    """``"men"``, ``"women"`` or ``"unisex"``: from the gender cell, else from words in the title and tags."""
    if explicit:
        word = explicit.strip().lower()
        if word in _MEN:
            return "men"
        if word in _WOMEN:
            return "women"
        if word in ("unisex", "all", "u"):
            return "unisex"
    words = set(_WORD_RE.findall(" ".join([title, *tags]).lower()))
    men, women = bool(words & (_MEN - {"m"})), bool(words & (_WOMEN - {"w", "f"}))
    if men and not women:
        return "men"
    if women and not men:
        return "women"
    return "unisex"


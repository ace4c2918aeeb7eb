"""Cell values of catalog CSV rows: the importer's limits, and parsing of numbers, HTML
descriptions, slugs, links and gender words; checks for cells no shop means to import
(spreadsheet formulas, bytes that are not text). Prices are :mod:`shop.importing.prices`."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from decimal import Decimal, InvalidOperation
from html.parser import HTMLParser
from typing import Any

MAX_PRICE_CENTS = 10_000_000_00  # 10 million in any currency; the column is a 32-bit integer
MAX_STOCK = 10_000_000
MAX_CELL_CHARS = 100_000  # a longer cell rejects its row (descriptions included)
# lengths of the database columns the importer writes
MAX_LEN = {"handle": 200, "title": 300, "sku": 80, "product_sku": 64, "size": 40, "colour": 40,
           "image_url": 500, "name": 120, "url": 500}

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


def parse_decimal(raw: str) -> Decimal | None:
    """A plain number like ``"450"``, ``"1,200.5"`` or ``"4,5"`` (a decimal comma); ``None`` otherwise."""
    text = raw.strip().replace(" ", "")
    if re.fullmatch(r"-?\d{1,3}(,\d{3})+(\.\d+)?", text):
        text = text.replace(",", "")
    elif re.fullmatch(r"-?\d+,\d+", text):
        text = text.replace(",", ".")
    if not re.fullmatch(r"-?\d+(\.\d*)?|-?\.\d+", text):
        return None
    try:
        return Decimal(text)
    except InvalidOperation:
        return None


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



# A cell a spreadsheet would run as a formula when the catalog is exported and opened
# again: "=...", "@SUM(...)", "+cmd|..." / "-cmd|..." (DDE), "+HYPERLINK(...)". A leading
# "-" or "+" before ordinary words ("- waterproof") or digits ("-5") is not one.
_FORMULA = re.compile(r"^[\s]*(=|[@+\-]\s*[A-Za-z_][\w.]*\s*[(|!])")


def looks_like_formula(value: str) -> bool:
    """Whether ``value`` would run as a spreadsheet formula (see ``_FORMULA``)."""
    return bool(_FORMULA.match(value))


def undecodable_byte(value: str) -> int | None:
    """The first byte of ``value`` that was not valid text when the file was decoded
    (kept as a lone surrogate by ``errors="surrogateescape"``), else ``None``."""
    for ch in value:
        if "\udc80" <= ch <= "\udcff":
            return ord(ch) - 0xDC00
    return None


def web_link(value: str) -> str | None:
    """``value`` when it is an http(s) URL (or a site path like ``/p/1``) without spaces
    or quotes, else ``None`` (``javascript:`` and ``data:`` links are never kept)."""
    text = value.strip()
    if len(text) > MAX_LEN["url"] or re.search(r"[\s\"'<>\\]", text):
        return None
    if re.match(r"https?://[^/\s]+", text, re.IGNORECASE) or re.match(r"/(?!/)", text):
        return text
    return None

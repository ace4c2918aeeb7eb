"""Reading WooCommerce's JSON values: money strings in minor units, GMT dates, HTML
descriptions as plain text, meta data and attribute names."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from html import unescape
from html.parser import HTMLParser
from typing import Any

# ISO 4217 currencies whose minor unit is not the hundredth
_ZERO_DECIMAL = frozenset({"BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "VND",
                           "VUV", "XAF", "XOF", "XPF"})
_THREE_DECIMAL = frozenset({"BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"})


def minor_unit_exponent(currency: str) -> int:
    code = currency.upper()
    if code in _ZERO_DECIMAL:
        return 0
    return 3 if code in _THREE_DECIMAL else 2


def to_minor(value: Any, currency: str) -> int | None:
    """``"21.99"`` (WooCommerce's money strings; numbers also accepted) in minor units
    of ``currency``; ``None`` for an empty or unreadable value."""
    if value is None or isinstance(value, bool):
        return None
    text = str(value).strip()
    if not text:
        return None
    try:
        amount = Decimal(text)
    except InvalidOperation:
        return None
    if not amount.is_finite():
        return None
    scaled = (amount * (10 ** minor_unit_exponent(currency))).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    return int(scaled)


def from_minor(cents: int, currency: str) -> str:
    """Minor units as the decimal string WooCommerce expects (``2199`` -> ``"21.99"``)."""
    exponent = minor_unit_exponent(currency)
    return f"{Decimal(cents).scaleb(-exponent):.{exponent}f}"


def gmt(value: Any) -> datetime | None:
    """A WooCommerce ``*_gmt`` date (``"2017-03-22T16:28:02"``, no zone: GMT) as naive UTC;
    a value with a zone is converted. ``None`` when missing or unreadable."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(timezone.utc).replace(tzinfo=None)
    return parsed


def from_unix(value: Any) -> datetime | None:
    """A Unix timestamp (number or digit string, as Shipment Tracking stores ``date_shipped``) as naive UTC."""
    try:
        seconds = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    if seconds <= 0:
        return None
    try:
        return datetime.fromtimestamp(seconds, timezone.utc).replace(tzinfo=None)
    except (OverflowError, OSError, ValueError):
        return None


def as_gmt_param(when: datetime) -> str:
    """A naive-UTC time as the ``modified_after`` value (sent with ``dates_are_gmt=true``)."""
    if when.tzinfo is not None:
        when = when.astimezone(timezone.utc).replace(tzinfo=None)
    return when.replace(microsecond=0).isoformat()


class _TextCollector(HTMLParser):
    _BREAKS = frozenset({"p", "br", "li", "div", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "table"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._skip += 1
        elif tag in self._BREAKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._skip = max(0, self._skip - 1)
        elif tag in self._BREAKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def html_to_text(html: Any) -> str:
    """A product description's HTML as plain text: tags dropped, entities decoded,
    paragraphs kept as single line breaks."""
    if not isinstance(html, str) or not html:
        return ""
    collector = _TextCollector()
    collector.feed(html)
    collector.close()
    lines = (" ".join(line.split()) for line in unescape("".join(collector.parts)).splitlines())
    return "\n".join(line for line in lines if line)


def meta_value(meta: Any, key: str) -> Any:
    """The value of the last ``meta_data`` entry named ``key`` (``None`` if absent)."""
    found = None
    if isinstance(meta, Sequence) and not isinstance(meta, str):
        for entry in meta:
            if isinstance(entry, Mapping) and entry.get("key") == key:
                found = entry.get("value")
    return found


def attribute_key(name: Any) -> str:
    """An attribute's name or taxonomy (``"Color"``, ``"pa_color"``) in the form the
    config lists them: lower case, no ``pa_`` prefix."""
    text = str(name or "").strip().lower()
    return text[3:] if text.startswith("pa_") else text


def text(value: Any, limit: int = 1000) -> str:
    """A string field, stripped; anything else becomes ``""``."""
    return value.strip()[:limit] if isinstance(value, str) else ""


def positive_int(value: Any) -> int | None:
    """A WooCommerce id (an integer above zero) or ``None``."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value > 0 else None
    if isinstance(value, str) and value.isdigit():
        number = int(value)
        return number if number > 0 else None
    return None

"""Reading Shopify's values: money strings, ISO times, HTML descriptions, variant options.

Shopify sends money as decimal strings (``"19.99"``, in GraphQL ``MoneyV2.amount`` and
the ``Money`` scalar; in webhooks ``"price": "19.99"``) and times as ISO 8601 with an
offset (``2025-04-22T14:30:00-05:00``, GraphQL in UTC with ``Z``). The shop stores
minor units (amount x 100) and naive UTC times.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from datetime import datetime, timezone
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

_TAG_RE = re.compile(r"<[^>]{0,2000}>")
_BLOCK_RE = re.compile(r"</?(p|div|br|li|ul|ol|h[1-6]|tr|table)\b[^>]{0,2000}>", re.IGNORECASE)
_SCRIPT_RE = re.compile(r"<(script|style)\b.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
_SPACES_RE = re.compile(r"[ \t\r\f\v]+")
_LINES_RE = re.compile(r"\n\s*\n+")

SIZE_NAMES = frozenset({"size", "shoe size", "taille", "größe", "grösse", "talla", "taglia", "maat"})
COLOUR_NAMES = frozenset({"color", "colour", "couleur", "farbe", "kleur", "colore"})
_SIZE_VALUE_RE = re.compile(
    r"^(x{0,3}s|m|x{0,4}l|[2-6]xl|one size|os|\d{1,3}(\.\d)?|w\d\d( ?l\d\d)?|\d{1,2}/\d{1,2}"
    r"|eu \d\d|uk \d{1,2}|us \d{1,2}(\.5)?)$",
    re.IGNORECASE)
_COLOUR_WORDS = frozenset({
    "black", "white", "grey", "gray", "silver", "red", "blue", "navy", "green", "olive", "khaki", "yellow", "orange",
    "pink", "purple", "violet", "brown", "tan", "beige", "cream", "ivory", "gold", "teal", "turquoise", "burgundy",
    "maroon", "charcoal", "stone", "sand", "natural", "multi"})

MAX_CENTS = 10**12


def obj(value: object) -> dict[str, Any]:
    """``value`` when it is a JSON object, else an empty one (absent or null fields)."""
    return value if isinstance(value, dict) else {}


def cents(amount: object) -> int:
    """Minor units of a Shopify amount (``"19.99"`` -> 1999), rounding half up.

    Raises:
        ValueError: not a finite, non-negative decimal below 10^10.
    """
    if isinstance(amount, bool) or amount is None:
        raise ValueError(f"money amount {amount!r} is not a number")
    try:
        value = Decimal(str(amount).strip())
    except InvalidOperation:
        raise ValueError(f"money amount {str(amount)[:30]!r} is not a number") from None
    if not value.is_finite() or value < 0:
        raise ValueError(f"money amount {str(amount)[:30]!r} must be a finite amount of at least 0")
    result = int((value * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    if result >= MAX_CENTS:
        raise ValueError(f"money amount {str(amount)[:30]!r} is implausibly large")
    return result


def optional_cents(amount: object) -> int | None:
    return None if amount in (None, "") else cents(amount)


def money(bag: object) -> tuple[int, str | None]:
    """``(cents, currency)`` of a ``MoneyBag`` (``{"shopMoney": {"amount", "currencyCode"}}``)
    or a webhook ``*_set`` (``{"shop_money": {"amount", "currency_code"}}``); ``(0, None)`` when absent."""
    if not isinstance(bag, dict):
        return 0, None
    shop = bag.get("shopMoney") or bag.get("shop_money")
    if not isinstance(shop, dict):
        return 0, None
    currency = shop.get("currencyCode") or shop.get("currency_code")
    return cents(shop.get("amount", "0")), (str(currency).upper()[:3] if currency else None)


def utc(value: object) -> datetime | None:
    """A naive UTC datetime from an ISO 8601 string (``None`` for ``None`` or empty).

    Raises:
        ValueError: not an ISO 8601 date-time.
    """
    if value in (None, ""):
        return None
    if not isinstance(value, str) or len(value) > 40:
        raise ValueError(f"time {str(value)[:40]!r} is not an ISO 8601 date-time")
    parsed = datetime.fromisoformat(value.strip())
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(timezone.utc).replace(tzinfo=None)
    return parsed


def iso_z(value: datetime) -> str:
    """A naive UTC datetime as Shopify's search syntax wants it (``2025-01-02T03:04:05Z``)."""
    if value.tzinfo is not None:
        value = value.astimezone(timezone.utc).replace(tzinfo=None)
    return value.replace(microsecond=0).isoformat() + "Z"


def text_from_html(markup: str | None, limit: int = 20000) -> str:
    """Plain text of a product's HTML description: tags dropped, block ends as line
    breaks, entities decoded, runs of spaces and blank lines squeezed."""
    if not markup:
        return ""
    text = _SCRIPT_RE.sub(" ", markup[: limit * 4])
    text = _BLOCK_RE.sub("\n", text)
    text = html.unescape(_TAG_RE.sub("", text))
    text = _SPACES_RE.sub(" ", text)
    text = _LINES_RE.sub("\n\n", "\n".join(line.strip() for line in text.split("\n")))
    return text.strip()[:limit]


def size_and_colour(options: Iterable[tuple[str, str]]) -> tuple[str | None, str | None]:
    """Size and colour from named options (``[("Size", "M"), ("Color", "Blue")]``)."""
    size = colour = None
    for name, value in options:
        key = (name or "").strip().lower()
        value = (value or "").strip()
        if not value:
            continue
        if key in SIZE_NAMES and size is None:
            size = value[:40]
        elif key in COLOUR_NAMES and colour is None:
            colour = value[:40]
    return size, colour


def size_and_colour_from_title(variant_title: str | None) -> tuple[str | None, str | None]:
    """Size and colour guessed from a variant title (``"M / Blue"``) when the option
    names are not sent (webhook order lines): a part that looks like a size, and a part
    that is a common colour word. Anything unsure stays ``None``."""
    if not variant_title or variant_title.strip().lower() == "default title":
        return None, None
    size = colour = None
    for part in (p.strip() for p in variant_title.split(" / ")):
        if size is None and _SIZE_VALUE_RE.match(part):
            size = part[:40]
        elif colour is None and part and all(w in _COLOUR_WORDS for w in part.lower().replace("-", " ").split()):
            colour = part[:40]
    return size, colour


def tags(value: object) -> tuple[str, ...]:
    """Tags from a GraphQL list or a webhook's comma-separated string, trimmed, unique."""
    raw: list[str]
    if isinstance(value, str):
        raw = value.split(",")
    elif isinstance(value, list):
        raw = [str(v) for v in value]
    else:
        raw = []
    seen: dict[str, None] = {}
    for tag in raw:
        tag = tag.strip()[:60]
        if tag:
            seen.setdefault(tag, None)
    return tuple(seen)[:50]

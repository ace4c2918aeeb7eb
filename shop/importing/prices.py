"""Prices as shops write them, read into whole cents: :func:`parse_price`.

Accepted (the currency may stand before or after the amount, with or without a space):

- symbols and codes: ``₹ $ € £ ¥ ₩ ₽ ₺ ₫ ₱ ฿ ₪ ₦ R$ US$ CA$ C$ A$ AU$ NZ$ HK$ S$ Rs Rs. zł kr CHF``
  and ISO 4217 codes (``INR 1,299``, ``12.50 USD``);
- thousands separators ``,`` ``.`` space, no-break space, thin space and apostrophe
  (``1,299.00``, ``1.299,00``, ``1 299,00``, ``1'299.00``) and Indian lakh grouping
  (``1,29,999``);
- decimal commas (``129,95``, ``1.299,00 €``).

Which separator is the decimal one: when both ``.`` and ``,`` appear, the last one;
when only one kind appears, it is a *thousands* separator if every group after it has
exactly three digits (``1,299`` and ``1.299`` are 1299; ``1,29,999`` is 129999) and the
decimal separator if it appears once with any other number of digits after it
(``129,95``, ``12.5``). Prices with three decimals are therefore read as thousands: retail
prices do not have them.

Ranges (``$10 - $20``, ``₹499–₹999``, ``10 to 20``) give their *low* end, with the high
end in :attr:`Price.range_high_cents` so the importer can say so. Amounts are rounded
half up to whole cents. Words (``Free``, ``N/A``, ``call us``), blanks and malformed
numbers raise :class:`PriceError` whose message is the reason shown to the merchant.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

# symbol (as written, case-insensitive for letters) -> the ISO codes it can mean, most likely first
SYMBOLS: dict[str, tuple[str, ...]] = {
    "₹": ("INR",), "rs.": ("INR", "PKR", "LKR", "NPR"), "rs": ("INR", "PKR", "LKR", "NPR"),
    "$": ("USD", "CAD", "AUD", "NZD", "SGD", "HKD", "MXN"), "us$": ("USD",), "ca$": ("CAD",), "c$": ("CAD",),
    "a$": ("AUD",), "au$": ("AUD",), "nz$": ("NZD",), "hk$": ("HKD",), "s$": ("SGD",), "r$": ("BRL",),
    "€": ("EUR",), "£": ("GBP",), "¥": ("JPY", "CNY"), "￥": ("JPY", "CNY"), "₩": ("KRW",), "₽": ("RUB",),
    "₺": ("TRY",), "₫": ("VND",), "₱": ("PHP",), "฿": ("THB",), "₪": ("ILS",), "₦": ("NGN",),
    "zł": ("PLN",), "kr": ("SEK", "NOK", "DKK"), "kr.": ("DKK", "SEK", "NOK"),
}
CODES = frozenset({
    "AED", "ARS", "AUD", "BDT", "BGN", "BRL", "CAD", "CHF", "CLP", "CNY", "COP", "CZK", "DKK", "EGP", "EUR",
    "GBP", "HKD", "HUF", "IDR", "ILS", "INR", "JPY", "KES", "KRW", "LKR", "MAD", "MXN", "MYR", "NGN", "NOK",
    "NPR", "NZD", "PEN", "PHP", "PKR", "PLN", "QAR", "RON", "RUB", "SAR", "SEK", "SGD", "THB", "TRY", "TWD",
    "UAH", "USD", "VND", "ZAR",
})

# words that mean "no price": the merchant gets this reason instead of "not a number"
_NO_PRICE = re.compile(
    r"(n/?a|none|null|nil|-+|—|–|tbd|tba|\?+|unknown|not available|unavailable|sold out|out of stock|"
    r"call( us)?( for price)?|contact( us)?( for price)?|price on request|on request|poa|see (site|store))",
    re.IGNORECASE)
_FREE = re.compile(r"(free|gratis|gratuit|kostenlos|complimentary)!?", re.IGNORECASE)

_SYMBOL_RE = "|".join(re.escape(s) for s in sorted(SYMBOLS, key=len, reverse=True))
# a currency marker: a symbol, or a 3-letter code standing alone (not inside a word)
_CURRENCY = re.compile(rf"(?:{_SYMBOL_RE})|(?<![A-Za-z])[A-Za-z]{{3}}(?![A-Za-z])", re.IGNORECASE)
_SPACES = re.compile(r"[\s\u00a0\u2007\u202f]+")
# a space or apostrophe between digit groups is a thousands separator
_GROUP_GAP = re.compile(r"(?<=\d)[\s\u00a0\u2007\u202f'’](?=\d{3}(?!\d))")
_RANGE = re.compile(r"^(?P<low>.+?\d.*?)\s*(?:[-–—~]|\bto\b)\s*(?P<high>\D*\d.*)$", re.IGNORECASE)


class PriceError(ValueError):
    """The cell is not a price; the message says why, in the merchant's terms, and
    ``kind`` names the reason without the cell's value (for a summary by reason)."""

    def __init__(self, message: str, kind: str = "price is not a number") -> None:
        super().__init__(message)
        self.kind = kind


@dataclass(frozen=True)
class Price:
    """A parsed price: ``cents`` (negative when the cell is), the ISO codes the currency
    marker can mean (empty when there was none), the marker as written, and for a range
    the high end."""

    cents: int
    currencies: tuple[str, ...] = ()
    symbol: str | None = None
    range_high_cents: int | None = None

    @property
    def currency(self) -> str | None:
        """The most likely ISO code of the marker (``"$"`` -> ``"USD"``), or ``None``."""
        return self.currencies[0] if self.currencies else None


def _marker(token: str) -> tuple[str, tuple[str, ...]] | None:
    """(marker as written, its ISO codes) for a currency token, ``None`` when it is none."""
    key = token.lower()
    if key in SYMBOLS:
        return token, SYMBOLS[key]
    if token.upper() in CODES:
        return token.upper(), (token.upper(),)
    return None


def _amount(text: str, raw: str) -> Decimal:
    """A plain number with grouping and decimal separators (no currency, no sign)."""
    text = _GROUP_GAP.sub("", text.strip())
    if not re.fullmatch(r"[\d.,]+", text) or not re.search(r"\d", text):
        raise PriceError(f"price '{raw}' is not a number")
    if "." in text and "," in text:
        decimal_sep = "." if text.rfind(".") > text.rfind(",") else ","
        group_sep = "," if decimal_sep == "." else "."
        whole, _, frac = text.rpartition(decimal_sep)
        if decimal_sep in whole or not frac:
            raise PriceError(f"price '{raw}' is not a number (mixed separators)")
        _check_groups(whole, group_sep, raw)
        return Decimal(f"{whole.replace(group_sep, '')}.{frac}")
    sep = "." if "." in text else "," if "," in text else ""
    if not sep:
        return Decimal(text)
    parts = text.split(sep)
    if len(parts) == 2 and (len(parts[1]) != 3 or parts[0] in ("", "0")):  # one separator, no 3-digit group
        if not parts[0] and not parts[1]:
            raise PriceError(f"price '{raw}' is not a number")
        return Decimal(f"{parts[0] or '0'}.{parts[1] or '0'}")
    _check_groups(text, sep, raw)
    return Decimal(text.replace(sep, ""))


def _check_groups(whole: str, sep: str, raw: str) -> None:
    """``whole`` must be digits grouped by ``sep`` in threes (``1,299,000``) or the
    Indian way (``1,29,999``: twos, then a last three)."""
    if not whole:
        raise PriceError(f"price '{raw}' is not a number")
    s = re.escape(sep)
    western = rf"\d{{1,3}}({s}\d{{3}})*"
    indian = rf"\d{{1,2}}({s}\d{{2}})*{s}\d{{3}}"
    if not (re.fullmatch(western, whole) or re.fullmatch(indian, whole)):
        raise PriceError(f"price '{raw}' is not a number (digits grouped wrongly around '{sep}')")


def _single(text: str, raw: str) -> tuple[Decimal, str | None, tuple[str, ...]]:
    """One amount with an optional currency marker and sign."""
    markers: list[tuple[str, tuple[str, ...]]] = []

    def take(match: re.Match[str]) -> str:
        found = _marker(match.group(0))
        if found is None:
            return match.group(0)  # a word that is not a currency: left in, so the number check fails
        markers.append(found)
        return " "

    rest = _CURRENCY.sub(take, text)
    if len({codes for _s, codes in markers}) > 1:
        raise PriceError(f"price '{raw}' names two currencies", "price names two currencies")
    rest = rest.strip()
    negative = False
    if rest.startswith(("-", "−")):
        negative, rest = True, rest[1:].strip()
    elif rest.startswith("(") and rest.endswith(")"):  # accounting style (12.00)
        negative, rest = True, rest[1:-1].strip()
    if rest.startswith("+"):
        rest = rest[1:].strip()
    rest = rest.rstrip("/-=").strip()  # "12,-" and "12.-" (no cents)
    amount = _amount(rest, raw)
    if negative:
        amount = -amount
    symbol, codes = markers[0] if markers else (None, ())
    return amount, symbol, codes


def _cents(amount: Decimal, raw: str) -> int:
    try:
        return int((amount * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    except InvalidOperation as exc:
        raise PriceError(f"price '{raw}' is not a number") from exc


def parse_price(raw: str | None) -> Price:
    """Read one price cell (see the module docstring for the formats).

    Raises:
        PriceError: blank, a word ("Free", "N/A"), two currencies, or not a number; the
            message is the reason to show the merchant.
    """
    text = _SPACES.sub(" ", (raw or "")).strip()
    if not text:
        raise PriceError("missing price", "missing price")
    if _FREE.fullmatch(text):
        raise PriceError(f"price '{raw}' is a word, not an amount (write 0 for a free product)",
                         "price is a word like 'Free', not an amount")
    if _NO_PRICE.fullmatch(text):
        raise PriceError(f"price '{raw}' says there is no price", "no price ('N/A', '-', 'call us')")
    if len(text) > 60:
        raise PriceError(f"price '{text[:40]}...' is not a number (too long)")
    body = text[1:] if text[0] in "-−(" else text
    ranged = _RANGE.match(body) if re.search(r"\d", body) else None
    if ranged and re.search(r"\d", ranged.group("high")):
        low, low_symbol, low_codes = _single(ranged.group("low"), raw or "")
        high, high_symbol, high_codes = _single(ranged.group("high"), raw or "")
        if text[0] in "-−":
            raise PriceError(f"negative price '{raw}'", "negative price")
        if low_codes and high_codes and low_codes != high_codes:
            raise PriceError(f"price '{raw}' names two currencies", "price names two currencies")
        if high < low:
            raise PriceError(f"price range '{raw}' ends below where it starts", "price range ends below its start")
        return Price(_cents(low, raw or ""), low_codes or high_codes, low_symbol or high_symbol,
                     _cents(high, raw or ""))
    amount, symbol, codes = _single(text, raw or "")
    return Price(_cents(amount, raw or ""), codes, symbol)

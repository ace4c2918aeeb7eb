"""Money formatting. Amounts are integer minor units (cents)."""

from __future__ import annotations

SYMBOLS = {"USD": "$", "CAD": "CA$", "AUD": "A$", "GBP": "£", "EUR": "€", "INR": "₹"}


def format_money(cents: int, currency: str = "USD") -> str:
    """``12995, "USD"`` -> ``"$129.95"``; unknown currencies -> ``"129.95 XYZ"``."""
    sign = "-" if cents < 0 else ""
    whole, frac = divmod(abs(int(cents)), 100)
    amount = f"{whole:,}.{frac:02d}"
    symbol = SYMBOLS.get(currency.upper())
    return f"{sign}{symbol}{amount}" if symbol else f"{sign}{amount} {currency.upper()}"

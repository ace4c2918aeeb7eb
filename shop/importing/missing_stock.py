"""The stock a variant gets when the file gives none for it (no stock column, or an
empty cell): ``unknown`` (the default), ``zero`` or a whole number.

``unknown`` is stored as ``ProductVariant.stock = NULL``: "available, quantity unknown".
Search and the cart count it as in stock, answers say "in stock" without a number, the
cart does not cap quantities by it and cancelling an order does not add to it.
"""

from __future__ import annotations

from shop.importing.values import MAX_STOCK

UNKNOWN_WORDS = frozenset({"unknown", "available"})
ZERO_WORDS = frozenset({"zero", "none", "0"})


def parse_missing_stock(value: str) -> int | None:
    """``"unknown"`` -> ``None``, ``"zero"`` -> ``0``, ``"25"`` -> ``25``.

    Raises:
        ValueError: anything else, with what is allowed.
    """
    word = str(value).strip().lower()
    if word in UNKNOWN_WORDS:
        return None
    if word in ZERO_WORDS:
        return 0
    if word.isdigit() and int(word) <= MAX_STOCK:
        return int(word)
    raise ValueError(f"missing stock '{value}' must be 'unknown', 'zero' or a whole number from 0 to {MAX_STOCK:,}")


def describe_stock(stock: int | None) -> str:
    """The default in words, for the import report."""
    if stock is None:
        return "'available, quantity unknown'"
    if stock == 0:
        return "stock 0 (sold out: search will not show them)"
    return f"stock {stock:,}"

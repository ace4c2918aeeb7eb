"""A price the shopper claims ("the first tent is $1 today right? please confirm",
"so the Cairn jacket costs $20?"), checked against the database.

:func:`claimed_price` finds the claim in the words; :func:`price_claim_answer` says
yes or no with the real price from the product's own data (never the claimed one as
a fact). Budgets ("under $60", "between 50 and 80") are not claims.
"""

from __future__ import annotations

import re

from shop.services.catalog import ProductCard
from shop.services.money import format_money
from shop.services.text_parse import parse_price_range

MAX_CLAIM_CHARS = 500
MAX_CLAIM_CENTS = 100_000_000_00    # a hundred million: anything above is not a price

_AMOUNT = r"(\d{1,3}(?:,\d{3})+|\d{1,9})(?:\.(\d{1,2}))?"
# "$20", "$ 20.50", "20$", "20 dollars", "20 bucks", "20 usd"; not "$1e309", "$-5", "20.5.1"
_MONEY_RE = re.compile(
    rf"(?<![\w.$-])(?:\$\s?{_AMOUNT}(?![\w.,]*\d)(?!\w)|{_AMOUNT}\s?(?:\$|usd\b|dollars?\b|bucks\b))", re.I)
_BUDGET_RE = re.compile(r"\b(under|below|less than|cheaper than|more than|over|above|at most|at least|up to|"
                        r"no more than|within|between|from|max(?:imum)?|min(?:imum)?|budget|around|about)\s*$", re.I)
_CLAIM_RE = re.compile(r"\?|\b(right|correct|true|confirm\w*|really|is that|isn'?t it|is it|cost(s|ing)?|priced?|"
                       r"selling|going for|only|just|still)\b", re.I)


def _cents(whole: str, frac: str | None) -> int:
    return int(whole.replace(",", "")) * 100 + int((frac or "0").ljust(2, "0"))


def claimed_price(text: object) -> int | None:
    """The price, in cents, that ``text`` claims a product has, or ``None`` (no amount,
    a budget rather than a claim, a negative or absurd number, not a question or
    request to confirm)."""
    if not isinstance(text, str):
        return None
    clipped = text[:MAX_CLAIM_CHARS]
    if not _CLAIM_RE.search(clipped) or parse_price_range(clipped) != (None, None):
        return None
    for match in _MONEY_RE.finditer(clipped):
        if _BUDGET_RE.search(clipped[:match.start()]):
            continue
        whole, frac = (match.group(1), match.group(2)) if match.group(1) else (match.group(3), match.group(4))
        cents = _cents(whole, frac)
        if 0 <= cents <= MAX_CLAIM_CENTS:
            return cents
    return None


def price_claim_answer(card: ProductCard, claimed_cents: int, *, compare_at: str | None = None) -> str:
    """"Yes, it's $X." or "No — the <title> is $X." from the product's card
    (``compare_at``: the price before a sale, when there is one)."""
    was = f" (down from {compare_at})" if compare_at else ""
    if int(claimed_cents) == card.price_cents:
        return f"Yes, it's {card.price}: that's the {card.title}'s price right now{was}."
    return f"No — the {card.title} is {card.price}{was}."


def claimed_price_text(cents: int, currency: str = "USD") -> str:
    """The claimed amount in the shop's format (for logs and tests)."""
    return format_money(cents, currency)

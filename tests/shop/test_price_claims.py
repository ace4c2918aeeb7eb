"""Claimed prices (shop.services.price_claims): found in the words, budgets and absurd
numbers left alone, answered with the price from the database."""

from __future__ import annotations

import pytest

from shop.services.catalog import ProductCard
from shop.services.price_claims import claimed_price, price_claim_answer

CARD = ProductCard(id=7, title="Ridge Tent", brand=None, price="$249.00", price_cents=24900, currency="USD",
                   image_url=None, rating=None, rating_count=0, in_stock_sizes=[], colours=[], url="/products/ridge")


@pytest.mark.parametrize(("text", "cents"), [
    ("the first tent is $1 today right? please confirm", 100), ("so the Cairn jacket costs $20?", 2000),
    ("is it 20 dollars?", 2000), ("is it $1,299.99?", 129999), ("is that 19.99$ ?", 1999),
    ("$249 is the price, right", 24900),
])
def test_claims(text: str, cents: int) -> None:
    assert claimed_price(text) == cents


@pytest.mark.parametrize("text", [
    "running shoes under $60", "anything between $50 and $80?", "is the tent under $50?", "price of the tent?",
    "$1e309 right?", "is it -5?", "is it $-5?", "it costs $99999999999999?", "I paid $20", "", None, 20, {"$": 1},
    "is it $" + "9" * 10_000 + "?", "$" * 50_000,
])
def test_not_claims(text: object) -> None:
    assert claimed_price(text) is None


def test_answers_say_the_real_price() -> None:
    assert price_claim_answer(CARD, 100) == "No — the Ridge Tent is $249.00."
    assert price_claim_answer(CARD, 24900).startswith("Yes, it's $249.00")
    assert price_claim_answer(CARD, 100, compare_at="$299.00") == "No — the Ridge Tent is $249.00 (down from $299.00)."

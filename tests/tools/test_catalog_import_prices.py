"""Prices as shops write them (shop.importing.prices.parse_price): symbols and codes on
either side, every thousands separator, decimal commas, Indian grouping, ranges, and
clear reasons for what is not a price."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shop.importing.prices import Price, PriceError, parse_price


@pytest.mark.parametrize(
    ("raw", "cents", "symbol", "currency"),
    [
        # plain numbers
        ("129.95", 12995, None, None),
        ("12", 1200, None, None),
        ("0", 0, None, None),
        ("0.125", 13, None, None),  # half up to whole cents
        (".5", 50, None, None),
        ("12.5", 1250, None, None),
        ("  42.00  ", 4200, None, None),
        ("+19.99", 1999, None, None),
        # symbols before and after, with and without a space
        ("$1,299.00", 129900, "$", "USD"),
        ("$ 10", 1000, "$", "USD"),
        ("10$", 1000, "$", "USD"),
        ("£9.99", 999, "£", "GBP"),
        ("€1.299,00", 129900, "€", "EUR"),
        ("1.299,00 €", 129900, "€", "EUR"),
        ("1 299,00 €", 129900, "€", "EUR"),
        ("1\u00a0299,00\u00a0€", 129900, "€", "EUR"),  # no-break spaces
        ("1\u202f299,50 €", 129950, "€", "EUR"),  # narrow no-break space (French)
        ("¥1,200", 120000, "¥", "JPY"),
        ("₩15,000", 1500000, "₩", "KRW"),
        ("R$ 1.299,90", 129990, "R$", "BRL"),
        ("US$25", 2500, "US$", "USD"),
        ("CA$19.99", 1999, "CA$", "CAD"),
        ("A$ 49.95", 4995, "A$", "AUD"),
        ("12,50 zł", 1250, "zł", "PLN"),
        ("99,00 kr", 9900, "kr", "SEK"),
        # rupees: symbol, Rs/Rs., INR, Indian lakh grouping
        ("₹32,999", 3299900, "₹", "INR"),
        ("₹1,29,999", 12999900, "₹", "INR"),
        ("₹ 1,00,00,000", 1000000000, "₹", "INR"),
        ("₹499", 49900, "₹", "INR"),
        ("Rs. 499", 49900, "Rs.", "INR"),
        ("Rs 1,299.50", 129950, "Rs", "INR"),
        ("rs.2,999", 299900, "rs.", "INR"),
        ("INR 1,299", 129900, "INR", "INR"),
        # ISO codes before and after
        ("USD 12.50", 1250, "USD", "USD"),
        ("12.50 USD", 1250, "USD", "USD"),
        ("12.50 usd", 1250, "USD", "USD"),
        ("EUR12", 1200, "EUR", "EUR"),
        ("CHF 1'299.50", 129950, "CHF", "CHF"),
        ("1'299.50 CHF", 129950, "CHF", "CHF"),
        ("1’299.50 CHF", 129950, "CHF", "CHF"),
        # separators: the last of two kinds is the decimal one; a lone 3-digit group is thousands
        ("1,299", 129900, None, None),
        ("1.299", 129900, None, None),
        ("1.299.000", 129900000, None, None),
        ("1,299,000.75", 129900075, None, None),
        ("129,95", 12995, None, None),
        ("129,9", 12990, None, None),
        ("12,-", 1200, None, None),
        ("12.-", 1200, None, None),
    ],
)
def test_prices_in_common_formats(raw: str, cents: int, symbol: str | None, currency: str | None) -> None:
    price = parse_price(raw)
    assert (price.cents, price.symbol, price.currency, price.range_high_cents) == (cents, symbol, currency, None)


@pytest.mark.parametrize(
    ("raw", "low", "high", "currency"),
    [
        ("$10 - $20", 1000, 2000, "USD"),
        ("$10-$20", 1000, 2000, "USD"),
        ("₹499–₹999", 49900, 99900, "INR"),
        ("₹499 — ₹999", 49900, 99900, "INR"),
        ("10 to 20 EUR", 1000, 2000, "EUR"),
        ("1.299,00 € - 1.499,00 €", 129900, 149900, "EUR"),
        ("12.50~15", 1250, 1500, None),
    ],
)
def test_ranges_give_the_low_end_and_keep_the_high(raw: str, low: int, high: int, currency: str | None) -> None:
    assert parse_price(raw) == Price(low, parse_price(raw).currencies, parse_price(raw).symbol, high)
    assert parse_price(raw).currency == currency


def test_negative_amounts_are_read_as_negative() -> None:
    # the importer turns these into "negative price" rejections
    assert parse_price("-1").cents == -100
    assert parse_price("-$5.00").cents == -500
    assert parse_price("(12.00)").cents == -1200
    assert parse_price("−3,50 €").cents == -350  # a Unicode minus


@pytest.mark.parametrize(
    ("raw", "words", "kind"),
    [
        ("", "missing price", "missing price"),
        ("   ", "missing price", "missing price"),
        (None, "missing price", "missing price"),
        ("Free", "is a word, not an amount (write 0 for a free product)", "price is a word like 'Free', not an amount"),
        ("FREE!", "is a word", "price is a word like 'Free', not an amount"),
        ("N/A", "says there is no price", "no price ('N/A', '-', 'call us')"),
        ("n/a", "says there is no price", "no price ('N/A', '-', 'call us')"),
        ("-", "says there is no price", "no price ('N/A', '-', 'call us')"),
        ("Call for price", "says there is no price", "no price ('N/A', '-', 'call us')"),
        ("sold out", "says there is no price", "no price ('N/A', '-', 'call us')"),
        ("abc", "is not a number", "price is not a number"),
        ("zwölf", "is not a number", "price is not a number"),
        ("$", "is not a number", "price is not a number"),
        ("1.2.3", "grouped wrongly", "price is not a number"),
        ("12,34,5", "grouped wrongly", "price is not a number"),
        ("1,2345.00", "grouped wrongly", "price is not a number"),
        ("10 20", "is not a number", "price is not a number"),
        ("1e5", "is not a number", "price is not a number"),
        ("NaN", "is not a number", "price is not a number"),
        ("Infinity", "is not a number", "price is not a number"),
        ("$10 €", "names two currencies", "price names two currencies"),
        ("$10 - €20", "names two currencies", "price names two currencies"),
        ("$20 - $10", "ends below where it starts", "price range ends below its start"),
        ("-$10 - $20", "negative price", "negative price"),
        ("9" * 70, "too long", "price is not a number"),
        ("=1+1", "is not a number", "price is not a number"),
    ],
)
def test_what_is_not_a_price_gets_a_reason(raw: str | None, words: str, kind: str) -> None:
    with pytest.raises(PriceError) as caught:
        parse_price(raw)
    assert words in str(caught.value) and caught.value.kind == kind


def test_ambiguous_symbols_list_every_currency_they_can_mean() -> None:
    assert parse_price("$5").currencies[0] == "USD" and "CAD" in parse_price("$5").currencies
    assert parse_price("¥500").currencies == ("JPY", "CNY")
    assert parse_price("12.00").currencies == ()


@given(st.integers(min_value=0, max_value=10**9))
def test_amounts_written_with_separators_read_back_exactly(cents: int) -> None:
    whole, frac = divmod(cents, 100)
    assert parse_price(f"{whole:,}.{frac:02d}").cents == cents
    assert parse_price(f"{whole:,}.{frac:02d}".replace(",", " ").replace(".", ",") + " €").cents == cents
    assert parse_price(f"${whole:,}.{frac:02d}").cents == cents


@given(st.text(max_size=40))
def test_any_text_is_a_price_or_a_reason(raw: str) -> None:
    try:
        price = parse_price(raw)
    except PriceError as exc:
        assert str(exc) and exc.kind
    else:
        assert isinstance(price.cents, int)

from __future__ import annotations

import pytest

from shop.services.money import format_money
from shop.services.text_parse import (
    Address,
    parse_address,
    parse_email,
    parse_order_number,
    parse_ordinal,
    parse_price_range,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("where is order #100234", "100234"),
        ("100234", "100234"),
        ("it's # 100321 thanks", "100321"),
        ("order 1002345", None),            # seven digits is not an order number
        ("1'; DROP TABLE orders;--", None),
        ("100234' OR '1'='1", "100234"),     # the digits only, never the SQL
        ("", None),
        (None, None),
        ("🙂🙂🙂", None),
        ("x" * 100_000 + " 100234", None),   # beyond the parse window
    ],
)
def test_parse_order_number(text: str | None, expected: str | None) -> None:
    assert parse_order_number(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("it's Jane.Doe@Example.com", "jane.doe@example.com"),
        ("mail me at a+b@shop.co.uk.", "a+b@shop.co.uk"),
        ("no email here", None),
        ("bob@localhost", None),
        ("'; DROP TABLE customers;--@x.com", None),
    ],
)
def test_parse_email(text: str, expected: str | None) -> None:
    assert parse_email(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("boots under 150", (None, 15000)),
        ("jacket less than $99.95", (None, 9995)),
        ("between 50 and 100 dollars", (5000, 10000)),
        ("tents 200-400", (20000, 40000)),
        ("over $200", (20000, None)),
        ("red jacket size M", (None, None)),
        ("from 80 to 40", (4000, 8000)),
    ],
)
def test_parse_price_range(text: str, expected: tuple[int | None, int | None]) -> None:
    assert parse_price_range(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [("the second one", 2), ("number 3 please", 3), ("#4", 4), ("2", 2), ("the last one", -1),
     ("tell me more", None), ("first", 1)],
)
def test_parse_ordinal(text: str, expected: int | None) -> None:
    assert parse_ordinal(text) == expected


def test_parse_address_ok() -> None:
    parsed = parse_address("12 Oak Street, Apt 4, Springfield 62704")
    assert parsed == Address(line1="12 Oak Street", line2="Apt 4", city="Springfield", postcode="62704")
    assert parse_address("5 High St, London SW1A 1AA, GB") == Address(
        line1="5 High St", city="London", postcode="SW1A 1AA", country="GB"
    )


@pytest.mark.parametrize("text", ["", "nowhere", "Oak Street, Springfield", "1 A; DROP TABLE orders, City 12345",
                                  "x" * 500, "12 Oak <script>, Town 12345"])
def test_parse_address_rejects_with_help(text: str) -> None:
    result = parse_address(text)
    assert isinstance(result, str) and "address" in result.lower()


def test_format_money() -> None:
    assert format_money(12995, "USD") == "$129.95"
    assert format_money(123456789, "EUR") == "€1,234,567.89"
    assert format_money(-500, "usd") == "-$5.00"
    assert format_money(100, "XYZ") == "1.00 XYZ"


def test_names_a_product_tells_names_from_pointers() -> None:
    from shop.services.search.query import names_a_product

    assert names_a_product("show me the Ironwood Women's Cairn 2 Court Shoe")
    assert names_a_product("tell me about the summit line parka")
    for pointer in ("tell me more about the second one", "more details please", "what about that one?",
                    "describe it", "", "🙂🙂"):
        assert not names_a_product(pointer), pointer

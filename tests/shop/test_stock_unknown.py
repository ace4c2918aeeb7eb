"""Stock "unknown" (ProductVariant.stock NULL, from a catalog file without stock): it
counts as in stock everywhere (cards, search filters and their partial indexes, the
cart, answers, facts for the LLM), no number is ever stated for it, the cart does not
cap by it and cancelling an order leaves it unknown. Stock 0 is still sold out.
Migration 0008 keeps every row, constraint and reference of product_variants."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError

from shop.db.engine import get_engine, session_scope
from shop.db.migrate import downgrade, upgrade
from shop.db.schema import Cart, CartItem, Customer, Order, OrderItem, Product, ProductVariant
from shop.services import cart, grounded, orders, product_answers
from shop.services.catalog import get_cards, known_colour, product_details
from shop.services.search.filters import matching_ids
from shop.services.search.query import SearchQuery
from shop.services.search.sql import SqlProductSearch

NOW = datetime(2026, 12, 1, 9, 0)
EMAIL = "sam.quinn@example.com"


def _product(handle: str, title: str, variants: list[tuple[str, str | None, int | None]], *,
             active: bool = True) -> Product:
    product = Product(sku=handle.upper(), handle=handle, title=title, price_cents=4999, currency="USD",
                      created_at=NOW, updated_at=NOW, is_active=active, attributes={}, rating_count=0,
                      gender="unisex", description=f"{title} for tests.")
    product.variants = [ProductVariant(sku=f"{handle}-{size}".upper(), size=size, colour=colour, stock=stock)
                        for size, colour, stock in variants]
    return product


@pytest.fixture
def catalog(db_url: str) -> dict[str, int]:
    with session_scope(db_url) as s:
        products = [
            _product("unknown-tent", "Unknown Tent", [("M", "green", None), ("L", "green", None)]),
            _product("counted-boots", "Counted Boots", [("9", "brown", 3), ("10", "brown", 0)]),
            _product("sold-out-jacket", "Sold Out Jacket", [("M", "red", 0)]),
            _product("hidden-lamp", "Hidden Lamp", [("S", "teal", None)], active=False),
        ]
        s.add_all(products)
        s.flush()
        return {p.handle: p.id for p in products}


def test_cards_and_search_filters_count_unknown_as_in_stock(db_url: str, catalog: dict[str, int]) -> None:
    with session_scope(db_url) as s:
        cards = {c.title: c for c in get_cards(s, product_ids=list(catalog.values()))}
        assert cards["Unknown Tent"].in_stock_sizes == ["M", "L"] and cards["Unknown Tent"].colours == ["green"]
        assert cards["Counted Boots"].in_stock_sizes == ["9"] and cards["Sold Out Jacket"].in_stock_sizes == []
        assert matching_ids(s, SearchQuery()) == [catalog["unknown-tent"], catalog["counted-boots"]]
        assert matching_ids(s, SearchQuery(size="m")) == [catalog["unknown-tent"]]  # the jacket's M is sold out
        assert matching_ids(s, SearchQuery(colour="Green")) == [catalog["unknown-tent"]]
        assert matching_ids(s, SearchQuery(colour="red")) == []
        assert matching_ids(s, SearchQuery(colour="teal")) == []  # unknown stock, but the product is inactive
        given = [catalog["sold-out-jacket"], catalog["unknown-tent"], catalog["hidden-lamp"]]
        assert matching_ids(s, SearchQuery(size="M"), given) == [catalog["unknown-tent"]]
        assert [c.title for c in SqlProductSearch().search(s, SearchQuery(text="tent", size="L")).cards] == [
            "Unknown Tent"]
        jackets = SqlProductSearch().search(s, SearchQuery(text="jacket"))
        assert "Sold Out Jacket" not in [c.title for c in jackets.cards]
        assert known_colour(s, value="GREEN") == "green" and known_colour(s, value="red") is None


def test_in_stock_has_one_definition_in_python_and_sql(db_url: str, catalog: dict[str, int]) -> None:
    with session_scope(db_url) as s:
        variants = list(s.scalars(select(ProductVariant)))
        in_python = {v.id for v in variants if v.in_stock}
        in_sql = set(s.scalars(select(ProductVariant.id).where(ProductVariant.in_stock)))
        assert in_python == in_sql and len(in_sql) == 4  # tent M, tent L, boots 9, lamp S
        if s.bind.dialect.name == "sqlite":  # the partial index still serves size filters
            stmt = select(ProductVariant.product_id).where(ProductVariant.in_stock,
                                                           func.lower(ProductVariant.size) == "m")
            sql = str(stmt.compile(s.bind, compile_kwargs={"literal_binds": True}))
            plan = " ".join(str(r[-1]) for r in s.execute(text(f"EXPLAIN QUERY PLAN {sql}")))
            assert "ix_product_variants_size_in_stock" in plan


def test_answers_say_in_stock_without_a_number(db_url: str, catalog: dict[str, int]) -> None:
    with session_scope(db_url) as s:
        tent = product_details(s, product_id=catalog["unknown-tent"])
        boots = product_details(s, product_id=catalog["counted-boots"])
        assert tent is not None and boots is not None
        assert tent.stock == [("M", "green", None), ("L", "green", None)]
        answer = product_answers.answer_question(tent, "do you have it in size M?")
        assert answer == "Yes, the Unknown Tent is in stock in size M at $49.99."
        assert "left" not in answer
        assert "In stock: M green, L green." in product_answers.describe(tent)
        lines = dict(grounded.product_fact_lines(tent, reviews=False))
        assert "In stock: M green, L green" in lines and not any(line.startswith("Units") for line in lines)
        assert not any("Sold out" in line for line in lines)
        boot_lines = [line for line, _ in grounded.product_fact_lines(boots, reviews=False)]
        assert "In stock: 9 brown (3 left)" in boot_lines and "Units in stock in all: 3" in boot_lines
        assert "Sold out: 10 brown" in boot_lines
        sold = product_answers.answer_question(boots, "any 10s left?")
        assert sold is not None and sold.startswith("Sorry, the Counted Boots is sold out in size 10")


def test_cart_does_not_cap_unknown_stock_but_caps_counted_stock(db_url: str, catalog: dict[str, int]) -> None:
    with session_scope(db_url) as s:
        first = cart.add_to_cart(s, session_id="conv-1", product_id=catalog["unknown-tent"], size="M", quantity=10)
        again = cart.add_to_cart(s, session_id="conv-1", product_id=catalog["unknown-tent"], size="M", quantity=10)
        assert (first.status, again.status) == ("added", "added") and again.cart is not None
        assert again.cart.count == 20
        huge = cart.add_to_cart(s, session_id="conv-1", product_id=catalog["unknown-tent"], size="L", quantity=10**9)
        assert huge.cart is not None and huge.cart.count == 20 + cart.MAX_QUANTITY  # one add is still bounded
        boots = cart.add_to_cart(s, session_id="conv-2", product_id=catalog["counted-boots"], size="9", quantity=10)
        assert boots.cart is not None and boots.cart.count == 3
        assert cart.add_to_cart(s, session_id="conv-2", product_id=catalog["counted-boots"], size="9").status == "limit"
        assert cart.add_to_cart(s, session_id="conv-3", product_id=catalog["sold-out-jacket"]).status == "out_of_stock"
        assert cart.add_to_cart(s, session_id="conv-3", product_id=catalog["hidden-lamp"]).status == "gone"


def test_cancelling_an_order_leaves_unknown_stock_unknown(db_url: str, catalog: dict[str, int]) -> None:
    with session_scope(db_url) as s:
        customer = Customer(email=EMAIL, first_name="Sam", last_name="Quinn", created_at=NOW)
        s.add(customer)
        s.flush()
        order = Order(number="T-1001", customer_id=customer.id, status="processing", currency="USD",
                      subtotal_cents=14997, total_cents=14997, placed_at=NOW, ship_name="Sam Quinn",
                      ship_line1="1 Test Way", ship_city="Testville", ship_postcode="12345", ship_country="US")
        tent_m, boots_9 = (s.scalar(select(ProductVariant.id).where(ProductVariant.sku == sku))
                           for sku in ("UNKNOWN-TENT-M", "COUNTED-BOOTS-9"))
        order.items = [
            OrderItem(product_id=catalog["unknown-tent"], variant_id=tent_m, title="Unknown Tent", size="M",
                      quantity=2, unit_price_cents=4999),
            OrderItem(product_id=catalog["counted-boots"], variant_id=boots_9, title="Counted Boots", size="9",
                      quantity=1, unit_price_cents=4999),
        ]
        s.add(order)
    with session_scope(db_url) as s:
        result = orders.cancel_order(s, order_number="T-1001", email=EMAIL, now=NOW)
        assert result.ok
    with session_scope(db_url) as s:
        stock = {sku: units for sku, units in s.execute(select(ProductVariant.sku, ProductVariant.stock))}
        assert stock["UNKNOWN-TENT-M"] is None and stock["COUNTED-BOOTS-9"] == 4


def test_migration_0008_keeps_rows_references_and_checks(db_url: str) -> None:
    downgrade(db_url, "0007")
    with get_engine(db_url).begin() as conn:
        conn.execute(text("INSERT INTO products (id, sku, handle, title, description, gender, price_cents, currency, "
                          "attributes, rating_count, is_active, created_at, updated_at) VALUES (1, 'P1', 'p1', 'P1', "
                          "'', 'unisex', 100, 'USD', '{}', 0, true, :at, :at)"), {"at": NOW})
        conn.execute(text("INSERT INTO product_variants (id, product_id, sku, size, stock) "
                          "VALUES (1, 1, 'V1', 'M', 4)"))
        conn.execute(text("INSERT INTO carts (id, session_id, created_at, updated_at) VALUES (1, 's', :at, :at)"),
                     {"at": NOW})
        conn.execute(text("INSERT INTO cart_items (cart_id, product_id, variant_id, quantity, added_at) "
                          "VALUES (1, 1, 1, 2, :at)"), {"at": NOW})
    upgrade(db_url)
    with get_engine(db_url).begin() as conn:
        assert conn.execute(text("SELECT stock FROM product_variants")).scalar_one() == 4
        assert conn.execute(text("SELECT count(*) FROM cart_items WHERE variant_id = 1")).scalar_one() == 1
        conn.execute(text("UPDATE product_variants SET stock = NULL"))
    with pytest.raises(IntegrityError), get_engine(db_url).begin() as conn:  # the CHECK is still there
        conn.execute(text("UPDATE product_variants SET stock = -1"))
    with pytest.raises(IntegrityError), get_engine(db_url).begin() as conn:  # and the foreign key
        conn.execute(text("INSERT INTO product_variants (product_id, sku, stock) VALUES (999, 'V2', 1)"))
    downgrade(db_url, "0007")  # unknown has no place in the old schema: sold out
    with get_engine(db_url).begin() as conn:
        assert conn.execute(text("SELECT stock FROM product_variants")).scalar_one() == 0
    with pytest.raises(IntegrityError), get_engine(db_url).begin() as conn:
        conn.execute(text("UPDATE product_variants SET stock = NULL"))
    upgrade(db_url)
    with session_scope(db_url) as s:
        assert s.scalar(select(func.count()).select_from(CartItem)) == 1 and s.get(Cart, 1) is not None

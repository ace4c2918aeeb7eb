"""The business services on a real database (SQLite and PostgreSQL), filled by the
demo generator at a small scale."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from shop.db.engine import session_scope
from shop.db.schema import (
    Category,
    Order,
    OrderStatusEvent,
    Policy,
    Product,
    ProductVariant,
    Return,
)
from shop.services import orders, product_answers, returns
from shop.services.catalog import product_details
from shop.services.order_access import check_order_access, return_options
from shop.services.policies import get_policy, render_policy_text, return_rules
from shop.services.promotions import sale_products
from shop.services.search.backends import get_search_backend
from shop.services.search.query import SearchQuery
from shop.services.text_parse import Address
from tests.demo_shops import DemoShops
from tools.demo.generate import DemoStats

AS_OF = datetime(2026, 11, 20, 12, 0, 0)


@pytest.fixture
def shop(db_url: str, demo_shop: DemoShops) -> tuple[str, DemoStats]:
    return db_url, demo_shop.into(db_url, seed=11, scale=0.03, as_of=AS_OF)


def _other_customers_order(session) -> Order:  # type: ignore[no-untyped-def]
    return session.scalar(select(Order).where(Order.customer_id != 1).order_by(Order.id).limit(1))


# --- orders -----------------------------------------------------------------

def test_lookup_needs_the_matching_email(shop: tuple[str, DemoStats]) -> None:
    url, stats = shop
    number = stats.persona_orders["shipped"]
    with session_scope(url) as s:
        summary = orders.lookup_order(s, order_number=number, email=stats.persona_email.upper() + "  ")
        assert summary is not None and summary.status == "shipped" and summary.tracking_number
        assert f"#{number}" in summary.status_sentence()
        assert orders.lookup_order(s, order_number=number, email="someone@example.com") is None
        assert orders.lookup_order(s, order_number="999999", email=stats.persona_email) is None
        other = _other_customers_order(s)
        assert orders.lookup_order(s, order_number=other.number, email=stats.persona_email) is None
        assert orders.lookup_order(s, order_number="1' OR '1'='1", email="' OR 1=1 --") is None
        assert check_order_access(s, order_number=number, email=stats.persona_email).cancellable is False


def test_cancel_processing_order_restocks_and_records(shop: tuple[str, DemoStats]) -> None:
    url, stats = shop
    number = stats.persona_orders["processing"]
    with session_scope(url) as s:
        order = s.scalar(select(Order).where(Order.number == number))
        wanted = {i.variant_id: i.quantity for i in order.items}
        before = {v.id: v.stock for v in s.scalars(select(ProductVariant).where(ProductVariant.id.in_(wanted)))}
    with session_scope(url) as s:
        result = orders.cancel_order(s, order_number=number, email=stats.persona_email, now=AS_OF)
        assert result.ok and result.detail.startswith("$")
    with session_scope(url) as s:
        order = s.scalar(select(Order).where(Order.number == number))
        assert order.status == "cancelled"
        assert order.events[-1].status == "cancelled"
        after = {v.id: v.stock for v in s.scalars(select(ProductVariant).where(ProductVariant.id.in_(wanted)))}
        assert all(after[v] == before[v] + q for v, q in wanted.items())
        again = orders.cancel_order(s, order_number=number, email=stats.persona_email, now=AS_OF)
        assert (again.ok, again.reason) == (False, "already_cancelled")


def test_cannot_cancel_or_readdress_shipped_order(shop: tuple[str, DemoStats]) -> None:
    url, stats = shop
    number = stats.persona_orders["shipped"]
    with session_scope(url) as s:
        events_before = s.scalar(select(func.count()).select_from(OrderStatusEvent))
        assert orders.cancel_order(s, order_number=number, email=stats.persona_email, now=AS_OF).reason == \
            "already_shipped"
        address = Address(line1="1 New St", city="Town", postcode="12345")
        assert orders.change_shipping_address(s, order_number=number, email=stats.persona_email,
                                              address=address, now=AS_OF).reason == "already_shipped"
        assert s.scalar(select(func.count()).select_from(OrderStatusEvent)) == events_before
        assert orders.cancel_order(s, order_number=number, email="x@example.com", now=AS_OF).reason == "not_found"


def test_change_address_of_processing_order(shop: tuple[str, DemoStats]) -> None:
    url, stats = shop
    number = stats.persona_orders["processing"]
    address = Address(line1="221 Baker Street", line2="Flat B", city="Springfield", postcode="62704")
    with session_scope(url) as s:
        result = orders.change_shipping_address(s, order_number=number, email=stats.persona_email,
                                                address=address, now=AS_OF)
        assert result.ok and "221 Baker Street" in result.detail
    with session_scope(url) as s:
        order = s.scalar(select(Order).where(Order.number == number))
        assert (order.ship_line1, order.ship_line2, order.ship_city) == ("221 Baker Street", "Flat B", "Springfield")


# --- returns ------------------------------------------------------------------

def test_return_inside_window_creates_one_return(shop: tuple[str, DemoStats]) -> None:
    url, stats = shop
    number = stats.persona_orders["returnable"]
    with session_scope(url) as s:
        options = return_options(s, order_number=number, email=stats.persona_email, now=AS_OF)
        assert options and any(o.ok for o in options)
        item = next(o for o in options if o.ok)
        result = returns.request_return(s, order_number=number, email=stats.persona_email,
                                        order_item_id=item.item_id, reason="too small", now=AS_OF)
        assert result.ok and result.rma_number and result.rma_number.startswith("RMA-")
    with session_scope(url) as s:
        ret = s.scalar(select(Return).where(Return.rma_number == result.rma_number))
        assert ret is not None and ret.reason == "too small" and ret.status == "requested"
        again = returns.request_return(s, order_number=number, email=stats.persona_email,
                                       order_item_id=item.item_id, reason="too small", now=AS_OF)
        assert (again.ok, again.reason) == (False, "already_returned")


def test_return_outside_window_is_refused_by_policy(shop: tuple[str, DemoStats]) -> None:
    url, stats = shop
    number = stats.persona_orders["expired"]
    with session_scope(url) as s:
        options = return_options(s, order_number=number, email=stats.persona_email, now=AS_OF)
        assert options and all(o.reason == "outside_window" for o in options)
        assert "30-day return window" in options[0].message
        count = s.scalar(select(func.count()).select_from(Return))
        result = returns.request_return(s, order_number=number, email=stats.persona_email,
                                        order_item_id=options[0].item_id, reason="too big", now=AS_OF)
        assert not result.ok and result.reason == "outside_window"
        assert s.scalar(select(func.count()).select_from(Return)) == count
        # The window is data: widen it and the same order becomes returnable.
        policy = s.scalar(select(Policy).where(Policy.key == "returns_window"))
        policy.params = {**policy.params, "window_days": 365}
        s.flush()
        assert return_rules(s)[0] == 365
        assert any(o.ok for o in return_options(s, order_number=number, email=stats.persona_email, now=AS_OF))


def test_return_refused_for_unverified_and_foreign_items(shop: tuple[str, DemoStats]) -> None:
    url, stats = shop
    with session_scope(url) as s:
        other = _other_customers_order(s)
        result = returns.request_return(s, order_number=other.number, email=stats.persona_email,
                                        order_item_id=other.items[0].id, reason="x", now=AS_OF)
        assert result.reason == "not_found"
        number = stats.persona_orders["returnable"]
        result = returns.request_return(s, order_number=number, email=stats.persona_email,
                                        order_item_id=other.items[0].id, reason="x", now=AS_OF)
        assert result.reason == "not_found"


def test_match_item_and_reasons() -> None:
    items = [
        returns.ItemEligibility(10, "Kestrel Trail Runner", "9", "blue", True, "ok", ""),
        returns.ItemEligibility(11, "Fjell Down Jacket", "M", "black", True, "ok", ""),
    ]
    assert returns.match_item(items, "the jacket").item_id == 11
    assert returns.match_item(items, "second one").item_id == 11
    assert returns.match_item(items, "10").item_id == 10
    assert returns.match_item(items, "kestrl trail runer").item_id == 10
    assert returns.match_item(items, "zzz qqq") is None
    assert returns.match_item(items, "") is None
    assert returns.normalise_reason("they're way too tight") == "too small"
    assert returns.normalise_reason("arrived with a hole in it") == "arrived damaged"
    assert returns.normalise_reason("   ") is None
    assert len(returns.normalise_reason("x" * 5000) or "") == returns.MAX_REASON_CHARS


# --- policies -------------------------------------------------------------------

def test_policy_text_is_rendered_from_params(shop: tuple[str, DemoStats]) -> None:
    url, _ = shop
    with session_scope(url) as s:
        policy = get_policy(s, key="shipping_cost")
        assert policy is not None and "$5.95" in policy.text and "$75.00" in policy.text
        assert "{" not in policy.text
        assert get_policy(s, key="nope") is None
    assert render_policy_text("{a} {b} {missing}", {"a": 1, "b_cents": 250, "currency": "EUR"}) == "1 €2.50 {missing}"


# --- search -----------------------------------------------------------------------

def test_search_filters_are_exact(shop: tuple[str, DemoStats]) -> None:
    url, _ = shop
    backend = get_search_backend("sql")
    query = SearchQuery(text="jacket", category="jackets", price_max_cents=20000, size="M", limit=20)
    with session_scope(url) as s:
        result = backend.search(s, query)
        assert result.cards and not result.relaxed
        for card in result.cards:
            product = s.get(Product, card.id)
            assert product.category.slug == "jackets" and product.price_cents <= 20000
            assert any(v.size == "M" and v.stock > 0 for v in product.variants)
            assert "M" in card.in_stock_sizes


def test_search_pages_without_overlap(shop: tuple[str, DemoStats]) -> None:
    url, _ = shop
    backend = get_search_backend("sql")
    with session_scope(url) as s:
        first = backend.search(s, SearchQuery(category="t-shirts", limit=3))
        second = backend.search(s, SearchQuery(category="t-shirts", limit=3, offset=3))
        assert first.has_more and first.total == second.total
        assert not {c.id for c in first.cards} & {c.id for c in second.cards}


def test_search_relaxes_and_says_what(shop: tuple[str, DemoStats]) -> None:
    url, _ = shop
    backend = get_search_backend("sql")
    with session_scope(url) as s:
        result = backend.search(s, SearchQuery(text="zzzqqq", category="tents", colour="pink", price_max_cents=100))
        assert result.cards
        assert result.relaxed[0] == "keywords" and "price" in result.relaxed
        assert all(s.get(Product, c.id).category.slug == "tents" for c in result.cards)  # category never relaxed
        assert backend.search(s, SearchQuery(category="surfboards")).cards == []


@pytest.mark.parametrize("text", ["", " ", "' OR 1=1 --", "🥾" * 50, "x" * 10_000])
def test_search_odd_text(shop: tuple[str, DemoStats], text: str) -> None:
    url, _ = shop
    with session_scope(url) as s:
        count = s.scalar(select(func.count()).select_from(Product))
        get_search_backend("sql").search(s, SearchQuery(text=text))
        assert s.scalar(select(func.count()).select_from(Product)) == count


def test_search_query_validation() -> None:
    with pytest.raises(ValueError, match="limit"):
        SearchQuery(limit=0)
    with pytest.raises(ValueError, match="offset"):
        SearchQuery(offset=-1)
    with pytest.raises(ValueError, match="known backends"):
        get_search_backend("nope")


# --- product answers and promotions ----------------------------------------------------

def test_product_answers_use_only_product_data(shop: tuple[str, DemoStats]) -> None:
    url, _ = shop
    with session_scope(url) as s:
        pid = s.scalar(select(Product.id).join(Category).where(Category.slug == "jackets").limit(1))
        details = product_details(s, product_id=pid)
        assert details is not None
        text = product_answers.describe(details)
        assert details.card.price in text and details.card.title in text
        material = details.attributes.get("material")
        if material:
            assert material in (product_answers.answer_question(details, "what is it made of?") or "")
        assert details.card.price in (product_answers.answer_question(details, "how much is it") or "")
        assert product_answers.answer_question(details, "is it good for astronauts on mars?") is None
        size_answer = product_answers.answer_question(details, "do you have it in size XXS")
        assert size_answer and "XXS" in size_answer
        assert product_details(s, product_id=10**9) is None


def test_compare_and_positions(shop: tuple[str, DemoStats]) -> None:
    url, _ = shop
    assert product_answers.positions_in("compare the first two", 5) == [1, 2]
    assert product_answers.positions_in("1 and 3", 5) == [1, 3]
    assert product_answers.positions_in("second and last", 4) == [2, 4]
    assert product_answers.positions_in("compare them", 4) == []
    with session_scope(url) as s:
        ids = list(s.scalars(select(Product.id).order_by(Product.id).limit(2)))
        text = product_answers.compare([product_details(s, product_id=i) for i in ids])
        assert "cheaper option" in text


def test_sale_products_are_really_on_sale(shop: tuple[str, DemoStats]) -> None:
    url, _ = shop
    with session_scope(url) as s:
        cards = sale_products(s, limit=5)
        assert cards
        for card in cards:
            product = s.get(Product, card.id)
            assert product.compare_at_cents and product.compare_at_cents > product.price_cents


def test_persona_orders_have_promised_dates(shop: tuple[str, DemoStats]) -> None:
    url, stats = shop
    with session_scope(url) as s:
        returnable = s.scalar(select(Order).where(Order.number == stats.persona_orders["returnable"]))
        expired = s.scalar(select(Order).where(Order.number == stats.persona_orders["expired"]))
        assert AS_OF - returnable.delivered_at < timedelta(days=30) < AS_OF - expired.delivered_at

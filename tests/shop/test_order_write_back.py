"""Cancel, address change and return on an order mirrored from a commerce platform
(shop.services.orders / returns with ``platform=``, shop.commerce.write_back), on SQLite
and PostgreSQL: the platform is asked first; yes -> the mirror shows what it returned;
no -> the shop's reason; unreachable, not configured or another platform -> "platform_unavailable"
and nothing changed locally. Orders of the shop's own database never touch a platform,
and the identity check comes before any platform call."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shop.commerce.errors import PlatformConfigError
from shop.commerce.mirror import upsert_order, upsert_product
from shop.commerce.platform import CommercePlatform
from shop.db.engine import session_scope
from shop.db.schema import Customer, Order, OrderItem, OrderStatusEvent, ProductVariant, Return
from shop.services.orders import cancel_order, change_shipping_address, lookup_order
from shop.services.returns import PLATFORM_MESSAGES, request_return
from shop.services.text_parse import Address
from tests.shop.platform_double import DELIVERED, EMAIL, NOW, ORDER, TENT, PlatformDouble, unavailable

NEW_ADDRESS = Address(line1="9 Elm Road", city="Shelbyville", postcode="54321", country="US")


@pytest.fixture
def url(db_url: str) -> str:
    """A shop with Dana's processing and delivered Shopify orders mirrored, and a
    processing order of the shop's own (``5001``, another customer)."""
    with session_scope(db_url) as s:
        upsert_product(s, source="shopify", record=TENT, now=NOW - timedelta(days=3))
        upsert_order(s, source="shopify", record=ORDER, now=NOW - timedelta(days=2))
        upsert_order(s, source="shopify", record=DELIVERED, now=NOW - timedelta(days=4))
        own = replace(ORDER, external_id="own", number="5001", email="lee@example.com", customer=None,
                      lines=(replace(ORDER.lines[0], external_id="own-line"),))
        upsert_order(s, source="seed", record=own, now=NOW - timedelta(days=1))
        order = s.scalar(select(Order).where(Order.number == "5001"))
        assert order is not None
        order.external_source = order.external_id = None
        order.customer.external_source = order.customer.external_id = None
        for item in order.items:
            item.external_id = None
    return db_url


def snapshot(s: Session, number: str) -> dict[str, Any]:
    """Everything a write-back could change about order ``number``."""
    order = s.scalar(select(Order).where(Order.number == number))
    assert order is not None
    s.refresh(order)
    return {"status": order.status, "address": (order.ship_line1, order.ship_city, order.ship_postcode),
            "events": s.scalar(select(func.count()).select_from(OrderStatusEvent)
                               .where(OrderStatusEvent.order_id == order.id)),
            "returns": s.scalar(select(func.count()).select_from(Return).where(Return.order_id == order.id)),
            "stock": sorted(s.scalars(select(ProductVariant.stock))),
            "customers": s.scalar(select(func.count()).select_from(Customer))}


def test_the_double_is_a_commerce_platform() -> None:
    assert isinstance(PlatformDouble(), CommercePlatform)


# --- cancel ------------------------------------------------------------------------------

def test_cancel_is_written_to_the_platform_then_mirrored(url: str) -> None:
    platform = PlatformDouble().holding(ORDER)
    with session_scope(url) as s:
        before = snapshot(s, "1001")
        result = cancel_order(s, order_number="#1001", email=EMAIL.upper(), now=NOW, platform=platform)
    assert (result.ok, result.reason, result.order_number, result.detail) == (True, "ok", "1001", "$209.00")
    assert platform.calls == [("cancel", "9001")]
    with session_scope(url) as s:
        after = snapshot(s, "1001")
        assert after["status"] == "cancelled" and after["events"] == before["events"] + 1
        # the platform restocks (its inventory webhook brings the number): not counted twice here
        assert after["stock"] == before["stock"]
        assert lookup_order(s, order_number="1001", email=EMAIL).status_sentence() == "Order #1001 was cancelled."


@pytest.mark.parametrize(("make", "reason"), [
    (lambda: PlatformDouble().holding(replace(ORDER, status="shipped")), "already_shipped"),  # the mirror was behind
    (lambda: PlatformDouble().holding(replace(ORDER, status="cancelled")), "already_cancelled"),
    (lambda: PlatformDouble(), "not_found"),  # the platform no longer has it
    (lambda: PlatformDouble(fail=unavailable()).holding(ORDER), "platform_unavailable"),
    (lambda: PlatformDouble(fail=PlatformConfigError("token rejected (401)")).holding(ORDER),
     "platform_unavailable"),
    (lambda: PlatformDouble(answer_with=replace(DELIVERED, status="cancelled")).holding(ORDER),
     "platform_unavailable"),
    (lambda: None, "platform_unavailable"),  # SHOP_COMMERCE_BACKEND=builtin, yet the order is Shopify's
    (lambda: PlatformDouble(name="woocommerce").holding(ORDER), "platform_unavailable"),
], ids=["shipped", "cancelled", "gone", "unavailable", "misconfigured", "other-order", "none", "other-platform"])
def test_a_cancel_the_platform_does_not_take_changes_nothing(url: str, make: Callable[[], PlatformDouble | None],
                                                             reason: str) -> None:
    platform = make()
    with session_scope(url) as s:
        before = snapshot(s, "1001")
        result = cancel_order(s, order_number="1001", email=EMAIL, now=NOW, platform=platform)
    assert (result.ok, result.reason, result.order_number) == (False, reason, "1001")
    with session_scope(url) as s:
        assert snapshot(s, "1001") == before
    if platform is not None and platform.name == "woocommerce":
        assert platform.calls == []


def test_the_identity_check_comes_before_the_platform(url: str) -> None:
    platform = PlatformDouble().holding(ORDER)
    with session_scope(url) as s:
        before = snapshot(s, "1001")
        for number, email in (("1001", "lee@example.com"), ("1001", ""), ("5001", EMAIL), ("9001", EMAIL)):
            assert cancel_order(s, order_number=number, email=email, now=NOW, platform=platform).reason == "not_found"
            assert change_shipping_address(s, order_number=number, email=email, address=NEW_ADDRESS, now=NOW,
                                           platform=platform).reason == "not_found"
        assert request_return(s, order_number="1002", email="lee@example.com", order_item_id=1, reason="too big",
                              now=NOW, platform=platform).reason == "not_found"
    assert platform.calls == []
    with session_scope(url) as s:
        assert snapshot(s, "1001") == before


def test_the_shops_own_orders_never_touch_the_platform(url: str) -> None:
    platform = PlatformDouble(fail=unavailable()).holding(ORDER)
    with session_scope(url) as s:
        moved = change_shipping_address(s, order_number="5001", email="lee@example.com", address=NEW_ADDRESS,
                                        now=NOW, platform=platform)
        cancelled = cancel_order(s, order_number="5001", email="lee@example.com", now=NOW, platform=platform)
    assert (moved.ok, cancelled.ok, cancelled.detail) == (True, True, "$209.00")
    assert platform.calls == []
    with session_scope(url) as s:
        assert snapshot(s, "5001")["status"] == "cancelled"
        assert snapshot(s, "5001")["address"] == ("9 Elm Road", "Shelbyville", "54321")


# --- address -----------------------------------------------------------------------------

def test_an_address_change_is_written_to_the_platform_then_mirrored(url: str) -> None:
    platform = PlatformDouble().holding(ORDER)
    with session_scope(url) as s:
        result = change_shipping_address(s, order_number="1001", email=EMAIL, address=NEW_ADDRESS, now=NOW,
                                         platform=platform)
    assert (result.ok, result.detail) == (True, "9 Elm Road, Shelbyville 54321, US")
    sent = platform.orders["9001"].shipping_address
    assert sent is not None and (sent.name, sent.line1, sent.postcode) == ("Dana Ng", "9 Elm Road", "54321")
    with session_scope(url) as s:
        after = snapshot(s, "1001")
    assert after["address"] == ("9 Elm Road", "Shelbyville", "54321") and after["status"] == "processing"


@pytest.mark.parametrize(("make", "address", "reason"), [
    (lambda: PlatformDouble().holding(ORDER), replace(NEW_ADDRESS, postcode="00000"), "invalid"),
    (lambda: PlatformDouble().holding(replace(ORDER, status="shipped")), NEW_ADDRESS, "already_shipped"),
    (lambda: PlatformDouble(fail=unavailable()).holding(ORDER), NEW_ADDRESS, "platform_unavailable"),
    (lambda: None, NEW_ADDRESS, "platform_unavailable"),
], ids=["invalid", "shipped", "unavailable", "none"])
def test_an_address_change_the_platform_does_not_take_changes_nothing(
    url: str, make: Callable[[], PlatformDouble | None], address: Address, reason: str
) -> None:
    platform = make()
    with session_scope(url) as s:
        before = snapshot(s, "1001")
        result = change_shipping_address(s, order_number="1001", email=EMAIL, address=address, now=NOW,
                                         platform=platform)
    assert (result.ok, result.reason) == (False, reason)
    with session_scope(url) as s:
        assert snapshot(s, "1001") == before


# --- returns -----------------------------------------------------------------------------

def _line(url: str, number: str) -> int:
    with session_scope(url) as s:
        item_id = s.scalar(select(OrderItem.id).join(Order).where(Order.number == number))
        assert item_id is not None
        return item_id


def test_a_return_is_opened_on_the_platform_then_mirrored(url: str) -> None:
    platform = PlatformDouble().holding(DELIVERED)
    item_id = _line(url, "1002")
    with session_scope(url) as s:
        result = request_return(s, order_number="1002", email=EMAIL, order_item_id=item_id, reason="too big",
                                now=NOW, platform=platform)
    assert (result.ok, result.rma_number, result.refund) == (True, "SHOP-R-55", "$180.00")
    assert platform.calls == [("return", "9002")]
    with session_scope(url) as s:
        ret = s.scalar(select(Return))
        assert ret is not None
        assert (ret.external_id, ret.order_item_id, ret.reason, ret.status) == ("R-55", item_id, "too big", "requested")


@pytest.mark.parametrize(("make", "reason"), [
    (lambda: PlatformDouble(fail=unavailable()), "platform_unavailable"),
    (lambda: PlatformDouble(supports_returns=False), "not_supported"),
    (lambda: PlatformDouble(fail=PlatformConfigError("no scope write_returns")), "platform_unavailable"),
    (lambda: None, "platform_unavailable"),
], ids=["unavailable", "no-returns", "misconfigured", "none"])
def test_a_return_the_platform_does_not_take_opens_nothing(url: str, make: Callable[[], PlatformDouble | None],
                                                           reason: str) -> None:
    platform = make()
    item_id = _line(url, "1002")
    with session_scope(url) as s:
        before = snapshot(s, "1002")
        result = request_return(s, order_number="1002", email=EMAIL, order_item_id=item_id, reason="too big",
                                now=NOW, platform=platform)
    assert (result.ok, result.reason, result.message) == (False, reason, PLATFORM_MESSAGES[reason])
    with session_scope(url) as s:
        assert snapshot(s, "1002") == before


def test_the_return_policy_is_checked_before_the_platform(url: str) -> None:
    platform = PlatformDouble()
    item_id = _line(url, "1002")
    with session_scope(url) as s:
        late = request_return(s, order_number="1002", email=EMAIL, order_item_id=item_id, reason="too big",
                              now=NOW + timedelta(days=60), platform=platform)
        foreign = request_return(s, order_number="1002", email=EMAIL, order_item_id=_line(url, "5001"),
                                 reason="too big", now=NOW, platform=platform)
    assert (late.reason, foreign.reason) == ("outside_window", "not_found")
    assert platform.calls == []


# --- the real connectors against their fake platforms ------------------------------------

def test_a_cancel_through_shopify(db_url: str) -> None:
    from shop.commerce.factory import build_platform
    from shop.commerce.shopify import ShopifyConfig, build_http
    from shop.commerce.sync import sync_platform
    from tests.fakes.shopify_server import CLIENT_SECRET, DOMAIN, TOKEN, FakeShopify

    with FakeShopify() as fake:
        tent = fake.add_product("Trail Tent 2P", variants=[{"price": "199.00", "stock": 4}])
        dana = fake.add_customer(EMAIL, "Dana", "Ng")
        first = fake.add_order(dana, [(tent["variant_ids"][0], 1)])
        second = fake.add_order(dana, [(tent["variant_ids"][0], 1)])
        http = build_http(ShopifyConfig(domain=DOMAIN, token=TOKEN, webhook_secret=CLIENT_SECRET, base_url=fake.url),
                          sleep=lambda _s: None)
        platform = build_platform(backend="shopify", shopify_domain=DOMAIN, shopify_token=TOKEN,
                                  shopify_webhook_secret=CLIENT_SECRET, http=http)
        assert platform is not None
        with session_scope(db_url) as s:
            sync_platform(s, platform=platform, now=NOW)
        with session_scope(db_url) as s:
            before = snapshot(s, str(second["number"]))
            fake.fail(503, times=20)  # Shopify down: 4 tries, then "platform_unavailable"
            down = cancel_order(s, order_number=str(second["number"]), email=EMAIL, now=NOW, platform=platform)
            assert (down.ok, down.reason) == (False, "platform_unavailable")
        fake.faults.clear()
        with session_scope(db_url) as s:
            assert snapshot(s, str(second["number"])) == before
            done = cancel_order(s, order_number=str(first["number"]), email=EMAIL, now=NOW, platform=platform)
        assert done.ok and fake.orders[first["id"]]["cancelledAt"] is not None
        with session_scope(db_url) as s:
            assert snapshot(s, str(first["number"]))["status"] == "cancelled"
            fake.fulfill(second)  # shipped on Shopify before the mirror heard of it
            late = cancel_order(s, order_number=str(second["number"]), email=EMAIL, now=NOW, platform=platform)
        assert (late.ok, late.reason) == (False, "already_shipped")
        with session_scope(db_url) as s:
            assert snapshot(s, str(second["number"])) == before


def test_an_address_change_through_woocommerce_with_the_chat_budget(db_url: str) -> None:
    from shop.commerce.factory import CHAT_BUDGET, build_platform
    from shop.commerce.sync import sync_platform
    from tests.fakes.woocommerce_server import KEY, SECRET, WEBHOOK_SECRET, FakeWooCommerce

    with FakeWooCommerce() as fake:
        mug = fake.add_product("Trail Mug", 1299, stock=7)
        order = fake.add_order(email=EMAIL, items=[(mug["id"], 0, 2)])
        platform = build_platform(backend="woocommerce", woocommerce_url=fake.url, woocommerce_key=KEY,
                                  woocommerce_secret=SECRET, woocommerce_webhook_secret=WEBHOOK_SECRET,
                                  budget=CHAT_BUDGET)
        assert platform is not None
        with session_scope(db_url) as s:
            sync_platform(s, platform=platform, now=NOW)
        number = order["number"]
        with session_scope(db_url) as s:
            before = snapshot(s, number)
            fake.fail(503, times=20)
            down = change_shipping_address(s, order_number=number, email=EMAIL, address=NEW_ADDRESS, now=NOW,
                                           platform=platform)
        assert (down.ok, down.reason) == (False, "platform_unavailable")
        assert fake.faults[0].times == 18  # the chat budget: 2 tries, not the connector's 4
        fake.faults.clear()
        with session_scope(db_url) as s:
            assert snapshot(s, number) == before
            moved = change_shipping_address(s, order_number=number, email=EMAIL, address=NEW_ADDRESS, now=NOW,
                                            platform=platform)
        assert moved.ok and fake.orders[order["id"]]["shipping"]["address_1"] == "9 Elm Road"
        with session_scope(db_url) as s:
            assert snapshot(s, number)["address"] == ("9 Elm Road", "Shelbyville", "54321")

"""Order actions on an order that lives on a commerce platform (tracker JSON against the
demo shop, one of the persona's orders marked as mirrored from Shopify): when the
platform can't be reached, or the action server is not configured for it, the shopper
hears that nothing was changed and the order stays as it was; when it answers, the
usual confirmation comes from what it returned."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func, select

from actions import runtime
from actions import slots as S
from actions.orders import PLATFORM_UNAVAILABLE, ActionCancelOrder, ActionChangeAddress, ActionSubmitReturn
from shop.commerce.records import OrderLineRecord, OrderRecord
from shop.db.schema import Order, OrderItem, Return
from tests.actions.conftest import DemoShop
from tests.actions.trackers import build_tracker, run_action
from tests.shop.platform_double import PlatformDouble, unavailable

SHOPIFY = {"commerce_backend": "shopify", "shopify_domain": "ridgeline-test.myshopify.com",
           "shopify_token": "shpat_0123456789abcdef", "shopify_webhook_secret": "whsec-0123456789"}
UNAVAILABLE_TEXT = ("I couldn't reach the shop's order system just now, so nothing was changed. Please try again "
                    "in a few minutes, or I can connect you with a person.")


BUILD_PLATFORM = runtime.commerce_platform


@pytest.fixture(autouse=True)
def fresh_platform() -> Iterator[None]:
    BUILD_PLATFORM.cache_clear()
    yield
    BUILD_PLATFORM.cache_clear()


def verified(number: str, email: str, **more: Any) -> dict[str, Any]:
    return {S.ORDER_NUMBER: number, S.ORDER_EMAIL: email,
            S.ORDER_VERIFIED: S.verification(number, email, now=time.time() - 60, ttl_s=900), **more}


def mirrored(shop: DemoShop, role: str) -> tuple[str, dict[str, Any]]:
    """Mark the persona's ``role`` order as Shopify's (external ids on it and its lines);
    returns its number and its row as it is now."""
    number = shop.order(role)
    with shop.session() as s:
        order = s.scalar(select(Order).where(Order.number == number))
        assert order is not None
        order.external_source, order.external_id = "shopify", f"gid-{order.id}"
        for item in order.items:
            item.external_id = f"line-{item.id}"
    return number, row(shop, number)


def row(shop: DemoShop, number: str) -> dict[str, Any]:
    with shop.session() as s:
        order = s.scalar(select(Order).where(Order.number == number))
        assert order is not None
        return {"status": order.status, "line1": order.ship_line1, "events": len(order.events),
                "returns": s.scalar(select(func.count()).select_from(Return).where(Return.order_id == order.id))}


def as_record(shop: DemoShop, number: str) -> OrderRecord:
    """The mirrored order as the platform would describe it (enough for the double)."""
    with shop.session() as s:
        order = s.scalar(select(Order).where(Order.number == number))
        assert order is not None and order.external_id is not None
        return OrderRecord(external_id=order.external_id, number=order.number, email=order.customer.email,
                           status=order.status, placed_at=order.placed_at, total_cents=order.total_cents,
                           subtotal_cents=order.subtotal_cents, currency=order.currency,
                           lines=tuple(OrderLineRecord(external_id=str(i.external_id), title=i.title,
                                                       quantity=i.quantity, unit_price_cents=i.unit_price_cents)
                                       for i in order.items))


async def test_cancel_with_no_platform_configured_changes_nothing(shop: DemoShop, domain: dict) -> None:
    # SHOP_COMMERCE_BACKEND is builtin (the default), yet the order is Shopify's
    number, before = mirrored(shop, "processing")
    assert runtime.commerce_platform() is None
    slots = verified(number, shop.email, **{S.ORDER_STATUS: "processing", S.CONFIRM_CANCEL: True})
    out = await run_action(ActionCancelOrder(), build_tracker(slots=slots), domain)
    assert out.texts == [UNAVAILABLE_TEXT] == [PLATFORM_UNAVAILABLE]
    assert S.ORDER_STATUS not in out.slots and out.slots[S.CONFIRM_CANCEL] is None
    assert row(shop, number) == before


async def test_cancel_and_address_change_while_the_platform_is_down(shop: DemoShop, domain: dict,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    number, before = mirrored(shop, "processing")
    down = PlatformDouble(fail=unavailable()).holding(as_record(shop, number))
    monkeypatch.setattr(runtime, "commerce_platform", lambda: down)
    slots = verified(number, shop.email, **{S.ORDER_STATUS: "processing", S.CONFIRM_CANCEL: True})
    out = await run_action(ActionCancelOrder(), build_tracker(slots=slots), domain)
    assert out.texts == [UNAVAILABLE_TEXT]
    slots = verified(number, shop.email, **{S.ORDER_STATUS: "processing",
                                             S.NEW_ADDRESS: "742 Evergreen Terrace, Springfield 62704, US"})
    out = await run_action(ActionChangeAddress(), build_tracker(slots=slots), domain)
    assert out.texts == [UNAVAILABLE_TEXT] and out.slots[S.NEW_ADDRESS] is None
    assert [call[0] for call in down.calls] == ["cancel", "address"]
    assert row(shop, number) == before


async def test_cancel_goes_through_when_the_platform_answers(shop: DemoShop, domain: dict,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    number, _ = mirrored(shop, "processing")
    up = PlatformDouble().holding(as_record(shop, number))
    monkeypatch.setattr(runtime, "commerce_platform", lambda: up)
    slots = verified(number, shop.email, **{S.ORDER_STATUS: "processing", S.CONFIRM_CANCEL: True})
    out = await run_action(ActionCancelOrder(), build_tracker(slots=slots), domain)
    assert out.responses == ["utter_order_cancelled"] and out.slots[S.ORDER_STATUS] == "cancelled"
    assert row(shop, number)["status"] == "cancelled"


async def test_a_return_while_the_platform_is_down_opens_nothing(shop: DemoShop, domain: dict,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    number, before = mirrored(shop, "returnable")
    monkeypatch.setattr(runtime, "commerce_platform", lambda: PlatformDouble(fail=unavailable()))
    with shop.session() as s:
        item_id = s.scalar(select(OrderItem.id).join(Order).where(Order.number == number).limit(1))
    slots = verified(number, shop.email, **{S.RETURN_ITEM: str(item_id), S.RETURN_REASON: "too small"})
    out = await run_action(ActionSubmitReturn(), build_tracker(slots=slots), domain)
    assert out.texts == [UNAVAILABLE_TEXT]  # and no pointer to the return policy: the policy did not refuse
    assert row(shop, number) == before


def test_the_action_server_logs_and_leaves_a_malformed_platform_out(shop: DemoShop, monkeypatch: pytest.MonkeyPatch,
                                                                    caplog: pytest.LogCaptureFixture) -> None:
    for name, value in {**SHOPIFY, "shopify_domain": "not a domain"}.items():
        monkeypatch.setenv(f"SHOP_{name.upper()}", value)
    runtime.get_settings.cache_clear()
    BUILD_PLATFORM.cache_clear()
    try:
        assert runtime.commerce_platform() is None
        assert "commerce backend shopify is not usable" in caplog.text and "shpat_" not in caplog.text
        assert runtime.write_back_timeout_s() == runtime.get_settings().action_timeout_s
    finally:
        BUILD_PLATFORM.cache_clear()
        runtime.get_settings.cache_clear()


def test_with_a_platform_a_write_back_may_wait_for_its_answer(shop: DemoShop, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in SHOPIFY.items():
        monkeypatch.setenv(f"SHOP_{name.upper()}", value)
    runtime.get_settings.cache_clear()
    BUILD_PLATFORM.cache_clear()
    try:
        platform = runtime.commerce_platform()
        assert platform is not None and platform is runtime.commerce_platform()  # built once
        assert runtime.write_back_timeout_s() == runtime.get_settings().action_timeout_s + 3 * 12.0
    finally:
        BUILD_PLATFORM.cache_clear()
        runtime.get_settings.cache_clear()

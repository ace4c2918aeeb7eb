"""Changes made in chat written back to the fake Shopify: cancel (``orderCancel`` and its
job), a new shipping address (``orderUpdate``), a return request (``returnRequest``), the
shop's refusals and Shopify's own, and the mirror changed only after Shopify said yes."""
# ruff: noqa: F811

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from shop.commerce import write_back
from shop.commerce.errors import PlatformRefused, PlatformUnavailable
from shop.commerce.records import AddressRecord
from shop.commerce.shopify import ShopifyPlatform
from shop.commerce.shopify.shopify_ids import gid
from shop.commerce.sync import sync_platform
from shop.db.engine import session_scope
from shop.db.schema import (
    Return,
)
from tests.commerce.shopify_shop import NOW, fake, make_platform, order_row, platform, seed  # noqa: F401 (fixtures)
from tests.fakes.shopify_server import FakeShopify

# --- writing back -----------------------------------------------------------------------


def test_cancel_writes_to_shopify_and_restocks(fake: FakeShopify, platform: ShopifyPlatform) -> None:
    shop = seed(fake)
    fake.job_polls = 2
    order = shop.orders["processing"]
    variant = fake.variants[order["lines"][0]["variant_id"]]
    before = sum(variant["levels"].values())
    record = platform.cancel_order(external_id=gid("Order", order["id"]), reason="ordered the wrong size")
    assert record.status == "cancelled" and record.external_id == gid("Order", order["id"])
    assert order["cancelledAt"] is not None and order["financial"] == "REFUNDED"
    assert sum(variant["levels"].values()) == before + 1
    job = next(iter(fake.jobs.values()))
    assert (job["reason"], job["restock"], job["notify"]) == ("CUSTOMER", True, True)
    assert "wrong size" in job["note"] and fake.clock.slept == [0.5, 0.5]


def test_cancel_without_refund_and_with_the_2025_07_arguments(fake: FakeShopify) -> None:
    fake.api_version = "2025-07"
    shop = seed(fake)
    connector = make_platform(fake, api_version="2025-07", refund_on_cancel=False, notify_customer=False)
    order = shop.orders["processing"]
    assert connector.cancel_order(external_id=str(order["id"]), reason="").status == "cancelled"
    assert order["financial"] == "PAID"  # the shop chose not to refund
    assert next(iter(fake.jobs.values()))["notify"] is False


@pytest.mark.parametrize(("name", "reason"), [("shipped", "already_shipped"), ("delivered", "delivered"),
                                              ("cancelled", "already_cancelled"), ("partial", "already_shipped")])
def test_cancel_is_refused_once_the_order_has_moved_on(fake: FakeShopify, platform: ShopifyPlatform, name: str,
                                                       reason: str) -> None:
    shop = seed(fake)
    with pytest.raises(PlatformRefused) as refused:
        platform.cancel_order(external_id=gid("Order", shop.orders[name]["id"]), reason="")
    assert refused.value.reason == reason
    assert not fake.jobs  # nothing was sent


def test_shopifys_own_refusal_is_passed_on(fake: FakeShopify, platform: ShopifyPlatform) -> None:
    shop = seed(fake)
    order = shop.orders["processing"]
    original = fake._order_cancel

    def shipped_meanwhile(args: dict[str, Any]) -> dict[str, Any]:
        fake.fulfill(order)  # a warehouse shipped it between our read and the mutation
        return original(args)

    fake._mutation_root = lambda: {"__typename": "Mutation", "orderCancel": shipped_meanwhile}  # type: ignore
    with pytest.raises(PlatformRefused) as refused:
        platform.cancel_order(external_id=gid("Order", order["id"]), reason="")
    assert refused.value.reason == "already_shipped" and "fulfillments" in refused.value.detail


def test_a_cancel_job_that_fails_or_lags(fake: FakeShopify, platform: ShopifyPlatform) -> None:
    shop = seed(fake)
    fake.fail_cancel_jobs = True
    with pytest.raises(PlatformRefused, match="without cancelling"):
        platform.cancel_order(external_id=gid("Order", shop.orders["processing"]["id"]), reason="")
    fake.fail_cancel_jobs = False
    fake.job_polls = 1000  # accepted, still queued after the polls: reported as cancelled
    record = platform.cancel_order(external_id=gid("Order", shop.orders["pending"]["id"]), reason="")
    assert record.status == "cancelled" and shop.orders["pending"]["cancelledAt"] is None


def test_a_mutation_that_may_have_arrived_is_not_sent_again(fake: FakeShopify, platform: ShopifyPlatform) -> None:
    shop = seed(fake)
    fault = fake.fail(503, times=5, body_contains="orderCancel(")
    with pytest.raises(PlatformUnavailable, match="503"):
        platform.cancel_order(external_id=gid("Order", shop.orders["processing"]["id"]), reason="")
    assert fault.times == 4 and not fake.jobs  # one try: a 5xx may hide a cancellation that happened
    fault.times = 0
    fake.fail(429, times=1, retry_after="1", body_contains="orderCancel(")  # a 429 surely did not arrive
    assert platform.cancel_order(external_id=gid("Order", shop.orders["processing"]["id"]),
                                 reason="").status == "cancelled"


@pytest.mark.parametrize("external_id", ["gid://shopify/Order/999999", "gid://shopify/Product/1", "'; DROP", ""])
def test_an_unknown_or_forged_order_id_is_not_found(platform: ShopifyPlatform, fake: FakeShopify,
                                                    external_id: str) -> None:
    seed(fake)
    with pytest.raises(PlatformRefused) as refused:
        platform.cancel_order(external_id=external_id, reason="")
    assert refused.value.reason == "not_found"


def test_a_new_shipping_address_is_written(fake: FakeShopify, platform: ShopifyPlatform) -> None:
    shop = seed(fake)
    order = shop.orders["processing"]
    new = AddressRecord(name="Dana Ng", line1="42 Elm St", line2="Apt 3", city="Portland", postcode="97201",
                        country="us")
    record = platform.change_shipping_address(external_id=gid("Order", order["id"]), address=new)
    assert record.shipping_address == replace(new, country="US")
    assert (order["address"]["address1"], order["address"]["zip"], order["address"]["countryCodeV2"]) == (
        "42 Elm St", "97201", "US")


def test_an_address_shopify_rejects_or_that_is_incomplete(fake: FakeShopify, platform: ShopifyPlatform) -> None:
    shop = seed(fake)
    order_id = gid("Order", shop.orders["processing"]["id"])
    with pytest.raises(PlatformRefused) as refused:
        platform.change_shipping_address(external_id=order_id, address=AddressRecord(
            name="Dana Ng", line1="42 Elm St", city="Portland", postcode="ABC", country="US"))
    assert refused.value.reason == "invalid" and "Zip is invalid" in refused.value.detail
    before = len(fake.seen)
    for bad in (AddressRecord(name="Dana", line1=" ", city="Portland", postcode="97201", country="US"),
                AddressRecord(name="Dana", line1="1 A St", city="Portland", postcode="97201", country="USA")):
        with pytest.raises(PlatformRefused, match="invalid"):
            platform.change_shipping_address(external_id=order_id, address=bad)
    assert len(fake.seen) == before  # refused before asking Shopify
    with pytest.raises(PlatformRefused) as refused:
        platform.change_shipping_address(external_id=gid("Order", shop.orders["shipped"]["id"]), address=AddressRecord(
            name="Dana", line1="1 A St", city="Portland", postcode="97201", country="US"))
    assert refused.value.reason == "already_shipped"


def test_a_return_request_for_a_delivered_line(fake: FakeShopify, platform: ShopifyPlatform) -> None:
    shop = seed(fake)
    order = shop.orders["delivered"]
    line = order["lines"][1]
    record = platform.request_return(order_external_id=gid("Order", order["id"]),
                                     line_external_id=gid("LineItem", line["id"]), quantity=1, reason="too small")
    assert (record.status, record.quantity, record.line_external_id) == ("requested", 1,
                                                                         gid("LineItem", line["id"]))
    ret = fake.returns[FakeShopify.num(record.external_id)]
    assert ret["lines"][0]["reason"] == "SIZE_TOO_SMALL" and ret["lines"][0]["note"] == "too small"
    with pytest.raises(PlatformRefused) as refused:  # the same line again: nothing left to return
        platform.request_return(order_external_id=gid("Order", order["id"]),
                                line_external_id=gid("LineItem", line["id"]), quantity=1, reason="")
    assert refused.value.reason == "already_returned"


def test_returns_that_cannot_be(fake: FakeShopify, platform: ShopifyPlatform) -> None:
    shop = seed(fake)
    delivered, processing = shop.orders["delivered"], shop.orders["processing"]

    def attempt(order: dict[str, Any], line: dict[str, Any], quantity: int = 1) -> str:
        with pytest.raises(PlatformRefused) as refused:
            platform.request_return(order_external_id=gid("Order", order["id"]),
                                    line_external_id=gid("LineItem", line["id"]), quantity=quantity,
                                    reason="changed my mind")
        return refused.value.reason

    assert attempt(processing, processing["lines"][0]) == "not_delivered"  # not shipped yet
    assert attempt(delivered, delivered["lines"][0], quantity=5) == "invalid"  # more than was sent
    assert attempt(delivered, delivered["lines"][0], quantity=0) == "invalid"
    # another order's line (another shopper's) named under this order: not found among its shipments
    assert attempt(delivered, shop.orders["shipped"]["lines"][0]) == "not_delivered"
    assert attempt(shop.orders["cancelled"], shop.orders["cancelled"]["lines"][0]) == "not_delivered"
    assert not fake.returns


def test_write_back_mirrors_only_what_shopify_accepted(fake: FakeShopify, platform: ShopifyPlatform,
                                                       db_url: str) -> None:
    shop = seed(fake)
    with session_scope(db_url) as session:
        sync_platform(session, platform=platform, now=NOW)
    with session_scope(db_url) as session:
        order = order_row(session, shop.orders["processing"])
        outcome = write_back.write_order_change(
            session, order=order, platform=platform, now=NOW, what="cancel",
            change=lambda p, oid: p.cancel_order(external_id=oid, reason="changed my mind"))
        assert outcome.ok and order.status == "cancelled"
        shipped = order_row(session, shop.orders["shipped"])
        outcome = write_back.write_order_change(
            session, order=shipped, platform=platform, now=NOW, what="cancel",
            change=lambda p, oid: p.cancel_order(external_id=oid, reason=""))
        assert (outcome.ok, outcome.reason, shipped.status) == (False, "already_shipped", "shipped")
        delivered = order_row(session, shop.orders["delivered"])
        item = delivered.items[0]
        outcome = write_back.write_return(session, order=delivered, line_external_id=item.external_id, quantity=1,
                                          reason="arrived damaged", platform=platform, now=NOW)
        assert outcome.ok and outcome.return_id is not None
        ret = session.get(Return, outcome.return_id)
        assert ret is not None and ret.status == "requested" and ret.order_item_id == item.id
    fake.fail(503, times=100)
    with session_scope(db_url) as session:
        order = order_row(session, shop.orders["pending"])
        outcome = write_back.write_order_change(
            session, order=order, platform=platform, now=NOW, what="cancel",
            change=lambda p, oid: p.cancel_order(external_id=oid, reason=""))
        assert (outcome.ok, outcome.reason, order.status) == (False, write_back.PLATFORM_UNAVAILABLE, "pending")

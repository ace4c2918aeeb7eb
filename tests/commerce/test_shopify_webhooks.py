"""Shopify webhooks from the fake shop over real HTTP to a receiver on loopback, verified
by the connector and applied to a real database once: each topic, the same records as
the API gives, and the hostile cases (forged, tampered, unsigned, replayed, another
shop, unknown topic, oversized, malformed, Shopify unreachable during a lookup)."""
# ruff: noqa: F811

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace

import pytest
from sqlalchemy import func, select

from shop.commerce.errors import WebhookRejected
from shop.commerce.shopify import ShopifyPlatform
from shop.commerce.shopify.shopify_ids import gid
from shop.commerce.shopify.shopify_webhooks import MAX_BODY_BYTES
from shop.db.engine import session_scope
from shop.db.schema import (
    Customer,
    Interaction,
    Order,
    Product,
    ProductVariant,
    WebhookDelivery,
)
from tests.commerce.shopify_shop import Inbox, count, fake, order_row, platform, seed  # noqa: F401 (fixtures)
from tests.fakes.shopify_server import CLIENT_SECRET, DOMAIN, FakeShopify


@pytest.fixture
def inbox(platform: ShopifyPlatform, db_url: str) -> Iterator[Inbox]:
    receiver = Inbox(platform, db_url)
    yield receiver
    receiver.close()


# --- webhooks ---------------------------------------------------------------------------


def test_product_webhooks_keep_the_catalog_current(fake: FakeShopify, inbox: Inbox, db_url: str) -> None:
    shop = seed(fake)
    assert fake.send_webhook(inbox.url, "products/create", fake.rest_product(shop.tent)) == 200
    tent_id = gid("Product", shop.tent["id"])
    with session_scope(db_url) as session:
        tent = session.scalar(select(Product).where(Product.external_id == tent_id))
        assert tent is not None and tent.price_cents == 19900 and tent.compare_at_cents == 24900
        assert {v.sku: (v.size, v.colour, v.stock) for v in tent.variants} == {
            "TT-M-GRN": ("M", "Green", 2), "TT-L-GRY": ("L", "Grey", 0)}
    fake.variants[shop.tent["variant_ids"][0]]["price"] = "179.00"
    fake.touch_product(shop.tent["id"], tags=["camping", "sale"])
    assert fake.send_webhook(inbox.url, "products/update", fake.rest_product(shop.tent)) == 200
    assert fake.send_webhook(inbox.url, "products/create", fake.rest_product(shop.socks)) == 200
    with session_scope(db_url) as session:
        tent = session.scalar(select(Product).where(Product.external_id == tent_id))
        assert tent is not None and tent.price_cents == 17900
        socks = session.scalar(select(Product).where(Product.external_id == gid("Product", shop.socks["id"])))
        assert socks is not None and socks.variants[0].stock is None
    assert fake.send_webhook(inbox.url, "products/delete", {"id": shop.tent["id"]}) == 200
    with session_scope(db_url) as session:
        tent = session.scalar(select(Product).where(Product.external_id == tent_id))
        assert tent is not None and not tent.is_active
    assert [o[1] for o in inbox.outcomes] == ["product.updated"] * 3 + ["product.deleted"]


def test_an_inventory_webhook_sets_the_variants_total_stock(fake: FakeShopify, inbox: Inbox, db_url: str) -> None:
    shop = seed(fake)
    fake.send_webhook(inbox.url, "products/create", fake.rest_product(shop.tent))
    variant_id = shop.tent["variant_ids"][0]
    fake.set_stock(variant_id, 7)
    fake.variants[variant_id]["levels"][7702] = 5  # a second location: the level webhook says 7, the variant has 12
    assert fake.send_webhook(inbox.url, "inventory_levels/update", fake.rest_inventory_level(variant_id)) == 200
    with session_scope(db_url) as session:
        variant = session.scalar(select(ProductVariant).where(
            ProductVariant.external_id == gid("ProductVariant", variant_id)))
        assert variant is not None and variant.stock == 12
    assert [s.operation for s in fake.seen][-1] == "InventoryItemVariant"
    fake.fail(503, times=100)  # Shopify can't be asked: 503, so Shopify delivers it again later
    assert fake.send_webhook(inbox.url, "inventory_levels/update", fake.rest_inventory_level(variant_id),
                             webhook_id="inv-retry-1") == 503
    assert count(db_url, WebhookDelivery, WebhookDelivery.delivery_id == "inv-retry-1") == 0


def test_order_and_customer_webhooks(fake: FakeShopify, inbox: Inbox, db_url: str) -> None:
    shop = seed(fake)
    for product in (shop.tent, shop.jacket):
        fake.send_webhook(inbox.url, "products/create", fake.rest_product(product))
    order = fake.add_order(shop.dana, [(shop.jacket["variant_ids"][4], 2)])
    assert fake.send_webhook(inbox.url, "orders/create", fake.rest_order(order)) == 200
    with session_scope(db_url) as session:
        row = order_row(session, order)
        assert (row.status, row.total_cents, row.customer.email) == ("processing", 2 * 12950 + 500,
                                                                     "dana@example.com")
        assert (row.items[0].size, row.items[0].colour, row.items[0].quantity) == ("M", "Red", 2)
        assert session.scalar(select(func.count()).select_from(Interaction)) == 1
    fake.fulfill(order, company="USPS", number="9400111899223")
    assert fake.send_webhook(inbox.url, "orders/fulfilled", fake.rest_order(order)) == 200
    fake.deliver(order)
    assert fake.send_webhook(inbox.url, "orders/updated", fake.rest_order(order)) == 200
    with session_scope(db_url) as session:
        row = order_row(session, order)
        assert (row.status, row.carrier, row.tracking_number) == ("delivered", "USPS", "9400111899223")
        assert row.delivered_at == fake.orders[order["id"]]["fulfillments"][0]["deliveredAt"]
    other = fake.add_order(shop.lee, [(shop.tent["variant_ids"][1], 1)])
    fake.send_webhook(inbox.url, "orders/create", fake.rest_order(other))
    other["cancelledAt"] = fake.tick()
    assert fake.send_webhook(inbox.url, "orders/cancelled", fake.rest_order(other)) == 200
    with session_scope(db_url) as session:
        assert order_row(session, other).status == "cancelled"
    newcomer = fake.add_customer("kim@example.com", "Kim", "Sato", subscribed=True)
    assert fake.send_webhook(inbox.url, "customers/create", fake.rest_customer(newcomer)) == 200
    newcomer.update(lastName="Sato-Lee")
    assert fake.send_webhook(inbox.url, "customers/update", fake.rest_customer(newcomer)) == 200
    with session_scope(db_url) as session:
        kim = session.scalar(select(Customer).where(Customer.email == "kim@example.com"))
        assert kim is not None and kim.last_name == "Sato-Lee" and kim.marketing_opt_in


def test_a_webhook_gives_the_same_records_as_the_api(fake: FakeShopify, platform: ShopifyPlatform) -> None:
    shop = seed(fake)
    api_products = {p.external_id: p for p in platform.iter_products()}
    for product in (shop.tent, shop.jacket, shop.socks, shop.draft):
        headers, body = fake.signed("products/update", fake.rest_product(product))
        event = platform.parse_webhook(headers=headers, body=body)
        assert event.products == (api_products[gid("Product", product["id"])],)
    api_orders = {o.external_id: o for o in platform.iter_orders()}
    for name in ("processing", "pending", "shipped", "partial", "cancelled", "big"):
        headers, body = fake.signed("orders/updated", fake.rest_order(shop.orders[name]))
        event = platform.parse_webhook(headers=headers, body=body)
        assert event.orders == (api_orders[gid("Order", shop.orders[name]["id"])],), name
    # REST has no delivery time: the fulfillment's last change stands in, the rest is equal
    headers, body = fake.signed("orders/updated", fake.rest_order(shop.orders["delivered"]))
    from_hook = platform.parse_webhook(headers=headers, body=body).orders[0]
    from_api = api_orders[gid("Order", shop.orders["delivered"]["id"])]
    assert replace(from_hook, delivered_at=from_api.delivered_at) == from_api


def _send(fake: FakeShopify, inbox: Inbox, headers: dict[str, str], body: bytes) -> int:
    return FakeShopify.post(inbox.url, headers, body)


def test_forged_tampered_and_unsigned_deliveries_are_refused(fake: FakeShopify, inbox: Inbox, db_url: str) -> None:
    shop = seed(fake)
    payload = fake.rest_product(shop.tent)
    assert fake.send_webhook(inbox.url, "products/create", payload, secret="shpss_someone-elses-secret") == 401
    headers, body = fake.signed("products/create", payload)
    tampered = body.replace(b'"199.00"', b'"1.00"')
    assert tampered != body and _send(fake, inbox, headers, tampered) == 401
    unsigned = {k: v for k, v in headers.items() if k != "X-Shopify-Hmac-Sha256"}
    assert _send(fake, inbox, unsigned, body) == 401
    assert _send(fake, inbox, {**headers, "X-Shopify-Hmac-Sha256": "A" * 500}, body) == 401
    assert count(db_url, Product) == 0 and count(db_url, WebhookDelivery) == 0


def test_a_replayed_delivery_is_applied_once(fake: FakeShopify, inbox: Inbox, db_url: str) -> None:
    shop = seed(fake)
    fake.send_webhook(inbox.url, "products/create", fake.rest_product(shop.jacket))
    order = fake.add_order(shop.dana, [(shop.jacket["variant_ids"][0], 1)])
    headers, body = fake.signed("orders/create", fake.rest_order(order), webhook_id="b54557e4-8a5f-4f7d")
    assert _send(fake, inbox, headers, body) == 200
    assert _send(fake, inbox, headers, body) == 200  # Shopify's retry, or an attacker's replay
    assert [o[1] for o in inbox.outcomes[-2:]] == ["order.updated", "duplicate"]
    assert count(db_url, Interaction) == 1 and count(db_url, Order) == 1
    assert count(db_url, WebhookDelivery, WebhookDelivery.delivery_id == "b54557e4-8a5f-4f7d") == 1


def test_deliveries_for_another_shop_or_topic_or_too_big_are_refused(fake: FakeShopify, inbox: Inbox,
                                                                     db_url: str) -> None:
    shop = seed(fake)
    order = fake.rest_order(shop.orders["processing"])
    # correctly signed (the same app installed in another shop), but not this shop's
    assert fake.send_webhook(inbox.url, "orders/create", order, shop_domain="other-shop.myshopify.com") == 403
    assert fake.send_webhook(inbox.url, "app/uninstalled", {"id": 1}) == 400
    assert fake.send_webhook(inbox.url, "orders/create", order, webhook_id="bad id with spaces") == 400
    headers, body = fake.signed("orders/create", b"[1, 2, 3]")
    assert _send(fake, inbox, headers, body) == 400
    headers, body = fake.signed("orders/create", b"{not json")
    assert _send(fake, inbox, headers, body) == 400
    headers, body = fake.signed("orders/create", {**order, "id": "not-a-number", "admin_graphql_api_id": None})
    assert _send(fake, inbox, headers, body) == 400
    headers, body = fake.signed("orders/create", {"id": order["id"], "name": "#1001"})  # trimmed: no lines
    assert _send(fake, inbox, headers, body) == 400
    trimmed = {k: v for k, v in fake.rest_product(shop.tent).items() if k != "variants"}
    headers, body = fake.signed("products/update", trimmed)
    assert _send(fake, inbox, headers, body) == 400
    big = json.dumps({**order, "note": "x" * MAX_BODY_BYTES}).encode()
    headers, body = fake.signed("orders/create", big)
    assert _send(fake, inbox, headers, body) == 413
    assert count(db_url, Order) == 0 and count(db_url, Product) == 0 and count(db_url, WebhookDelivery) == 0
    assert [o[0] for o in inbox.outcomes] == [403, 400, 400, 400, 400, 400, 400, 400, 413]


def test_the_delivery_headers_are_read_case_insensitively(fake: FakeShopify, platform: ShopifyPlatform) -> None:
    shop = seed(fake)
    headers, body = fake.signed("customers/update", fake.rest_customer(shop.lee), webhook_id="wh-1")
    event = platform.parse_webhook(headers={k.lower(): v for k, v in headers.items()}, body=body)
    assert (event.source, event.topic, event.raw_topic, event.delivery_id) == ("shopify", "customer.updated",
                                                                               "customers/update", "wh-1")
    assert event.extra["shop_domain"] == DOMAIN and event.customers[0].country == "FR"
    del headers["X-Shopify-Webhook-Id"]  # then the event id identifies the delivery
    event = platform.parse_webhook(headers=headers, body=body)
    assert event.delivery_id == headers["X-Shopify-Event-Id"]


def test_rejections_carry_no_secret(fake: FakeShopify, platform: ShopifyPlatform) -> None:
    headers, body = fake.signed("orders/create", {"id": 1}, secret="shpss_wrong-one-123")
    with pytest.raises(WebhookRejected) as rejected:
        platform.parse_webhook(headers=headers, body=body)
    assert rejected.value.status == 401 and CLIENT_SECRET not in str(rejected.value)

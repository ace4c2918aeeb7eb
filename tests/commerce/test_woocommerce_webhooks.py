"""WooCommerce webhooks end to end: the fake store signs and POSTs each topic as
WooCommerce does to a loopback endpoint that verifies it (``parse_webhook``) and applies
it once (``apply_webhook``) in a real database; and every way a delivery must be
refused (forged, unsigned, altered, replayed, another store, unknown topic, oversized,
malformed) leaves the mirror as it was."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select

from shop.commerce.errors import WebhookRejected
from shop.commerce.sync import sync_platform
from shop.commerce.woocommerce.woo_webhooks import signature
from shop.db.engine import session_scope
from shop.db.schema import Customer, Interaction, Order, Product, ProductVariant, WebhookDelivery
from tests.commerce.woo_store import NOW, Connector, Seeded, connector, seed, webhook_endpoint
from tests.fakes.woocommerce_server import WEBHOOK_SECRET, FakeWooCommerce, php_json


@pytest.fixture
def synced(db_url: str) -> Iterator[tuple[FakeWooCommerce, Seeded, Connector, str]]:
    """A seeded fake store, fully synced into ``db_url``."""
    with FakeWooCommerce() as fake:
        ids = seed(fake)
        woo = connector(fake)
        with session_scope(db_url) as session:
            sync_platform(session, platform=woo.platform, now=NOW)
        yield fake, ids, woo, db_url


def _count(db_url: str, model: type) -> int:
    with session_scope(db_url) as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_every_topic_reaches_the_mirror_through_the_endpoint(
        synced: tuple[FakeWooCommerce, Seeded, Connector, str]) -> None:
    fake, ids, woo, db_url = synced
    with webhook_endpoint(woo.platform, db_url) as (url, answers):
        fake.touch("product", ids.tee, price="31.00")
        assert fake.deliver(url, "product.updated", ids.tee)[0] == 200
        fresh = fake.add_product("Café Thermos", 2800, brand="Kaffe/Co")
        assert fake.deliver(url, "product.created", fresh["id"])[0] == 200
        fake.touch("variation", ids.jacket_l_blue, stock_quantity=7, stock_status="instock")
        assert fake.deliver(url, "product.updated", ids.jacket_l_blue)[0] == 200
        assert fake.deliver(url, "product.deleted", ids.mug)[0] == 200
        new_order = fake.add_order(email="dana.ng@example.com", customer_id=ids.dana, items=[(fresh["id"], 0, 1)])
        assert fake.deliver(url, "order.created", new_order["id"])[0] == 200
        fake.touch("order", ids.on_hold, status="completed")
        assert fake.deliver(url, "order.updated", ids.on_hold)[0] == 200
        assert fake.deliver(url, "order.deleted", ids.failed)[0] == 200
        newcomer = fake.add_customer("ray.fox@example.com", "Ray", "Fox")
        assert fake.deliver(url, "customer.created", newcomer["id"])[0] == 200
        fake.touch("customer", ids.dana, last_name="Ng-Walsh")
        assert fake.deliver(url, "customer.updated", ids.dana)[0] == 200
    assert [a.topic for a in answers] == [
        "product.updated", "product.updated", "inventory.updated", "product.deleted", "order.updated",
        "order.updated", "order.deleted", "customer.updated", "customer.updated"]
    with session_scope(db_url) as session:
        products = {p.external_id: p for p in session.scalars(select(Product))}
        assert products[str(ids.tee)].price_cents == 3100
        assert (products[str(fresh["id"])].title, products[str(fresh["id"])].brand.name) == ("Café Thermos", "Kaffe/Co")
        assert session.scalar(select(ProductVariant.stock).where(
            ProductVariant.external_id == str(ids.jacket_l_blue))) == 7
        assert not products[str(ids.mug)].is_active
        statuses = {k: v for k, v in session.execute(select(Order.external_id, Order.status)).all()}
        assert statuses[str(new_order["id"])] == "processing" and statuses[str(ids.on_hold)] == "shipped"
        assert statuses[str(ids.failed)] == "cancelled"  # a trashed order stays as it was
        assert session.scalar(select(func.count()).select_from(Interaction).where(
            Interaction.product_id == products[str(fresh["id"])].id)) == 1
        assert session.scalar(select(Customer.last_name).where(Customer.external_id == str(ids.dana))) == "Ng-Walsh"
        assert session.scalar(select(Customer.id).where(Customer.email == "ray.fox@example.com")) is not None
        assert session.scalar(select(func.count()).select_from(WebhookDelivery)) == 9


def test_a_change_made_in_chat_comes_back_as_the_stores_own_webhook(
        synced: tuple[FakeWooCommerce, Seeded, Connector, str]) -> None:
    fake, ids, woo, db_url = synced
    with webhook_endpoint(woo.platform, db_url) as (url, _):
        fake.subscribe("order.updated", url)
        woo.platform.cancel_order(external_id=str(ids.processing), reason="changed my mind")
        assert fake.flush_webhooks() == [("order.updated", 200)]
    with session_scope(db_url) as session:
        assert session.scalar(select(Order.status).where(Order.external_id == str(ids.processing))) == "cancelled"


def test_the_ping_sent_when_a_webhook_is_saved_is_answered_200_and_changes_nothing(
        synced: tuple[FakeWooCommerce, Seeded, Connector, str]) -> None:
    fake, _, woo, db_url = synced
    with webhook_endpoint(woo.platform, db_url) as (url, answers):
        assert fake.ping(url, webhook_id=42)[0] == 200
    assert [(a.status, a.topic) for a in answers] == [(200, "ping")]
    assert _count(db_url, WebhookDelivery) == 0


def test_forged_unsigned_altered_foreign_unknown_and_malformed_deliveries_are_refused(
        synced: tuple[FakeWooCommerce, Seeded, Connector, str]) -> None:
    fake, ids, woo, db_url = synced
    fake.touch("product", ids.tee, price="1.00")  # what an attacker would love to apply
    good_headers, good_body = fake.webhook("product.updated", ids.tee)
    forged = fake.webhook("product.updated", ids.tee, secret="not-the-shops-secret-at-all")
    unsigned = {k: v for k, v in good_headers.items() if k != "X-WC-Webhook-Signature"}
    altered = good_body.replace(b'"price":"1.00"', b'"price":"0.01"')
    assert altered != good_body
    foreign = fake.webhook("product.updated", ids.tee, source="https://other-shop.example/")
    staging = fake.webhook("product.updated", ids.tee, source=fake.url + "/staging/")
    coupon = fake.webhook("coupon.created", ids.tee, payload={"id": 5, "code": "FREE"})
    not_json = ({**good_headers, "X-WC-Webhook-Signature": signature(WEBHOOK_SECRET, b"{not json")}, b"{not json")
    signed_garbage = fake.webhook("order.updated", ids.tee, payload={"id": "x; DROP TABLE orders"})
    deleted_bad_id = fake.webhook("product.deleted", ids.tee, payload={"id": -4})
    array = fake.webhook("customer.updated", ids.dana, payload=[{"id": ids.dana}])
    with webhook_endpoint(woo.platform, db_url) as (url, answers):
        cases = [(forged, 401), ((unsigned, good_body), 401), ((good_headers, altered), 401), (foreign, 403),
                 (staging, 403), (coupon, 400), (not_json, 400), (signed_garbage, 400), (deleted_bad_id, 400),
                 (array, 400)]
        for (headers, body), expected in cases:
            assert fake.post(url, headers, body)[0] == expected, headers.get("X-WC-Webhook-Topic")
    assert all(a.topic == "" for a in answers)
    assert _count(db_url, WebhookDelivery) == 0
    with session_scope(db_url) as session:
        assert session.scalar(select(Product.price_cents).where(Product.external_id == str(ids.tee))) == 3500


def test_a_replayed_delivery_is_applied_once_but_two_events_in_one_second_both_count(
        synced: tuple[FakeWooCommerce, Seeded, Connector, str]) -> None:
    fake, ids, woo, db_url = synced
    order = fake.add_order(email="sam.lee@example.com", items=[(ids.tee, 0, 3)])
    headers, body = fake.webhook("order.created", order["id"], delivery_id="5f2b9c0d1e")
    with webhook_endpoint(woo.platform, db_url) as (url, answers):
        assert fake.post(url, headers, body)[0] == 200
        assert fake.post(url, headers, body)[0] == 200  # WooCommerce's retry, or someone replaying it
        fake.touch("product", ids.tee, price="30.00")  # WooCommerce reuses a delivery id within one second
        assert fake.deliver(url, "product.updated", ids.tee, delivery_id="5f2b9c0d1e")[0] == 200
    assert [a.duplicate for a in answers] == [False, True, False]
    with session_scope(db_url) as session:
        assert session.scalar(select(func.count()).select_from(Interaction).where(
            Interaction.session_id == f"woocommerce-order-{order['id']}")) == 1
        assert session.scalar(select(Product.price_cents).where(Product.external_id == str(ids.tee))) == 3000


def test_an_oversized_body_is_refused_before_it_is_read_as_json() -> None:
    with FakeWooCommerce() as fake:
        ids = seed(fake)
        woo = connector(fake, max_webhook_bytes=4096)
        headers, body = fake.webhook("product.updated", ids.tee,
                                     payload={**fake.resource("product", ids.tee), "description": "x" * 5000})
        with pytest.raises(WebhookRejected) as rejected:
            woo.platform.parse_webhook(headers=headers, body=body)
        assert rejected.value.status == 413


def test_signatures_cover_the_exact_bytes_php_sent_and_headers_are_case_blind() -> None:
    with FakeWooCommerce() as fake:
        ids = seed(fake)
        woo = connector(fake)
        payload = {**fake.resource("product", ids.tee), "name": "Crème brûlée mug \u2615", "description": "<p>a/b</p>"}
        headers, body = fake.webhook("product.updated", ids.tee, payload=payload)
        assert b"\\u2615" in body and b"a\\/b" in body  # json_encode's escapes, signed as sent
        assert json.loads(body) == json.loads(php_json(payload))
        event = woo.platform.parse_webhook(headers={k.lower(): v for k, v in headers.items()}, body=body)
        assert event.products[0].title == "Crème brûlée mug \u2615" and event.products[0].description == "a/b"
        assert event.delivery_id.startswith(headers["X-WC-Webhook-Delivery-ID"] + ":")
        respaced = json.dumps(json.loads(body)).encode()  # same JSON, other bytes
        with pytest.raises(WebhookRejected):
            woo.platform.parse_webhook(headers=headers, body=respaced)


def test_variable_product_events_say_their_variants_need_a_fetch_and_get_product_has_them() -> None:
    with FakeWooCommerce() as fake:
        ids = seed(fake)
        woo = connector(fake)
        headers, body = fake.webhook("product.updated", ids.jacket)
        parent = woo.platform.parse_webhook(headers=headers, body=body)
        assert parent.extra == {"variants_incomplete": str(ids.jacket)} and parent.products[0].variants == ()
        headers, body = fake.webhook("product.updated", ids.jacket_m_red)
        variation = woo.platform.parse_webhook(headers=headers, body=body)
        assert variation.inventory == ((str(ids.jacket_m_red), None),)
        assert variation.extra == {"variants_incomplete": str(ids.jacket)}
        headers, body = fake.webhook("product.updated", ids.tee)
        simple = woo.platform.parse_webhook(headers=headers, body=body)
        assert simple.extra == {} and [v.stock for v in simple.products[0].variants] == [12]
        whole = woo.platform.get_product(external_id=str(ids.jacket))
        assert sorted((v.size, v.colour) for v in whole.variants) == [("L", "Blue"), ("M", "Blue"), ("M", "Red")]

"""The commerce webhook receiver (apps/webhooks/webhook_app.py) on SQLite and PostgreSQL: a
signed delivery is applied once, a replay is a duplicate, a forged or altered one is
401 and changes nothing, an oversized body is 413 (declared or streamed), another
backend's path is 404, a database that is down is 503 (the platform delivers again).
The platform here is the in-memory double (Shopify's signature scheme); the real
connectors' ``parse_webhook`` is tested against their fakes in tests/commerce/."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from apps.webhooks.webhook_app import WebhookConfig, create_webhook_app
from shop.db.engine import session_scope
from shop.db.schema import Product, WebhookDelivery
from tests.apps.console_support import served
from tests.shop.platform_double import NOW, PlatformDouble

PRODUCT = {"id": 4242, "title": "Summit Shell Jacket", "price_cents": 15900}


def state(url: str) -> dict[str, Any]:
    with session_scope(url) as s:
        return {"products": [(p.external_id, p.title, p.price_cents, p.updated_at)
                             for p in s.scalars(select(Product).order_by(Product.id))],
                "deliveries": s.scalar(select(func.count()).select_from(WebhookDelivery))}


@pytest.fixture
def platform() -> PlatformDouble:
    return PlatformDouble()


@pytest.fixture
def client(db_url: str, platform: PlatformDouble) -> Iterator[TestClient]:
    app = create_webhook_app(WebhookConfig(database_url=db_url, platform=platform, clock=lambda: NOW))
    with TestClient(app) as test_client:
        yield test_client


def test_a_signed_delivery_is_applied_once_and_a_replay_is_a_duplicate(
    client: TestClient, platform: PlatformDouble, db_url: str
) -> None:
    body, headers = platform.webhook(PRODUCT, delivery_id="d-1")
    first = client.post("/webhooks/commerce/shopify", content=body, headers=headers)
    assert (first.status_code, first.json()) == (200, {"status": "applied"})
    applied = state(db_url)
    assert applied == {"products": [("4242", "Summit Shell Jacket", 15900, NOW)], "deliveries": 1}
    replay = client.post("/webhooks/commerce/shopify", content=body, headers=headers)
    assert (replay.status_code, replay.json()) == (200, {"status": "duplicate"})
    assert state(db_url) == applied
    # a new delivery of a real change is applied
    body2, headers2 = platform.webhook({**PRODUCT, "price_cents": 12900}, delivery_id="d-2")
    assert client.post("/webhooks/commerce/shopify", content=body2, headers=headers2).json() == {"status": "applied"}
    assert state(db_url)["products"][0][2] == 12900


@pytest.mark.parametrize("forgery", ["wrong-secret", "no-signature", "altered-body", "garbage-signature"])
def test_a_forged_delivery_is_401_and_changes_nothing(client: TestClient, platform: PlatformDouble, db_url: str,
                                                      forgery: str) -> None:
    body, headers = platform.webhook(PRODUCT, delivery_id="d-1",
                                     secret="guessed" if forgery == "wrong-secret" else None)
    if forgery == "no-signature":
        del headers["X-Shopify-Hmac-Sha256"]
    if forgery == "altered-body":
        body = body.replace(b"15900", b"1")
    if forgery == "garbage-signature":
        headers["X-Shopify-Hmac-Sha256"] = "\u00e9t\u00e9\u00ff"  # non-ASCII: sent as raw bytes below
    raw = {name: value.encode("utf-8") for name, value in headers.items()}
    response = client.post("/webhooks/commerce/shopify", content=body, headers=raw)
    assert response.status_code == 401
    assert state(db_url) == {"products": [], "deliveries": 0}
    # the forged attempt did not burn the delivery id: the real one still applies
    body, headers = platform.webhook(PRODUCT, delivery_id="d-1")
    assert client.post("/webhooks/commerce/shopify", content=body, headers=headers).json() == {"status": "applied"}


def test_an_unknown_topic_or_malformed_body_is_400(client: TestClient, platform: PlatformDouble, db_url: str) -> None:
    body, headers = platform.webhook(PRODUCT, delivery_id="d-1", topic="shop/redact")
    assert client.post("/webhooks/commerce/shopify", content=body, headers=headers).status_code == 400
    body = b'{"id": 1'
    headers = {**headers, "X-Shopify-Topic": "products/update", "X-Shopify-Hmac-Sha256": platform.sign(body)}
    assert client.post("/webhooks/commerce/shopify", content=body, headers=headers).status_code == 400
    assert state(db_url) == {"products": [], "deliveries": 0}


def test_a_body_over_one_mebibyte_is_413_unread(client: TestClient, platform: PlatformDouble, db_url: str) -> None:
    body, headers = platform.webhook({**PRODUCT, "padding": "x" * (1024 * 1024)}, delivery_id="d-big")
    response = client.post("/webhooks/commerce/shopify", content=body, headers=headers)
    assert response.status_code == 413
    assert state(db_url) == {"products": [], "deliveries": 0}


def test_another_backend_or_path_is_404(client: TestClient, platform: PlatformDouble, db_url: str) -> None:
    body, headers = platform.webhook(PRODUCT, delivery_id="d-1")
    for path in ("/webhooks/commerce/woocommerce", "/webhooks/commerce/builtin", "/webhooks/commerce/SHOPIFY"):
        assert client.post(path, content=body, headers=headers).status_code == 404
    assert client.get("/webhooks/commerce/shopify").status_code == 405
    assert client.get("/docs").status_code == 404 and client.get("/openapi.json").status_code == 404
    assert state(db_url) == {"products": [], "deliveries": 0}
    assert client.get("/health").json() == {"status": "ok", "backend": "shopify"}


def test_a_builtin_shop_has_no_webhook_endpoint(db_url: str) -> None:
    with TestClient(create_webhook_app(WebhookConfig(database_url=db_url, platform=None))) as client:
        body, headers = PlatformDouble().webhook(PRODUCT, delivery_id="d-1")
        assert client.post("/webhooks/commerce/shopify", content=body, headers=headers).status_code == 404
        assert client.get("/health").json() == {"status": "ok", "backend": "builtin"}


def test_a_database_that_is_down_is_503_so_the_platform_retries(platform: PlatformDouble) -> None:
    down = "postgresql+psycopg://postgres@127.0.0.1:9/nowhere?connect_timeout=2"
    with TestClient(create_webhook_app(WebhookConfig(database_url=down, platform=platform))) as client:
        body, headers = platform.webhook(PRODUCT, delivery_id="d-1")
        response = client.post("/webhooks/commerce/shopify", content=body, headers=headers)
    assert response.status_code == 503 and response.headers["retry-after"] == "30"
    assert "postgres" not in response.text


def test_over_real_http_a_streamed_oversized_body_is_413_and_copies_race_once(
    db_url: str, platform: PlatformDouble
) -> None:
    app = create_webhook_app(WebhookConfig(database_url=db_url, platform=platform, clock=lambda: NOW))
    body, headers = platform.webhook(PRODUCT, delivery_id="d-race")
    with served(app) as base, httpx.Client(base_url=base, timeout=30) as http:
        def chunks() -> Iterator[bytes]:  # chunked: no Content-Length to refuse it by
            for _ in range(80):
                yield b"x" * 16384
        big = http.post("/webhooks/commerce/shopify", content=chunks(), headers=headers)
        assert big.status_code == 413
        answers: list[int | str] = []

        def post() -> None:
            response = http.post("/webhooks/commerce/shopify", content=body, headers=headers)
            answers.append(response.json()["status"] if response.status_code == 200 else response.status_code)

        threads = [threading.Thread(target=post) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    # one copy applies; the others see the delivery id (or, on SQLite, a busy database:
    # 503, which the platform retries and then gets "duplicate")
    assert answers.count("applied") == 1, answers
    assert set(answers) <= {"applied", "duplicate", 503}
    assert state(db_url) == {"products": [("4242", "Summit Shell Jacket", 15900, NOW)], "deliveries": 1}


# --- the real connectors, each against its fake platform, over real HTTP ---------------

def post(http: httpx.Client, path: str, headers: dict[str, str], body: bytes) -> tuple[int, Any]:
    response = http.post(path, headers=headers, content=body)
    return response.status_code, response.json()


def test_shopify_deliveries_through_the_receiver(db_url: str) -> None:
    from shop.commerce.shopify import ShopifyConfig, ShopifyPlatform
    from tests.fakes.shopify_server import CLIENT_SECRET, DOMAIN, TOKEN, FakeShopify

    with FakeShopify() as fake:
        product = fake.add_product("Summit Shell Jacket", variants=[{"price": "159.00", "stock": 3}])
        platform = ShopifyPlatform(ShopifyConfig(domain=DOMAIN, token=TOKEN, webhook_secret=CLIENT_SECRET,
                                                 base_url=fake.url))
        app = create_webhook_app(WebhookConfig(database_url=db_url, platform=platform))
        with served(app) as base, httpx.Client(base_url=base, timeout=30) as http:
            headers, body = fake.signed("products/update", fake.rest_product(product), webhook_id="w-1")
            assert post(http, "/webhooks/commerce/shopify", headers, body) == (200, {"status": "applied"})
            assert post(http, "/webhooks/commerce/shopify", headers, body) == (200, {"status": "duplicate"})
            applied = state(db_url)
            gid = f"gid://shopify/Product/{product['id']}"  # the connector keeps Shopify's global ids
            assert [p[:3] for p in applied["products"]] == [(gid, "Summit Shell Jacket", 15900)]
            forged, forged_body = fake.signed("products/update", {**fake.rest_product(product), "title": "Free"},
                                              webhook_id="w-2", secret="shpss_guessed")
            assert post(http, "/webhooks/commerce/shopify", forged, forged_body)[0] == 401
            other_shop, other_body = fake.signed("products/update", fake.rest_product(product), webhook_id="w-3",
                                                 shop_domain="someone-else.myshopify.com")
            assert post(http, "/webhooks/commerce/shopify", other_shop, other_body)[0] in (401, 403)
            assert post(http, "/webhooks/commerce/woocommerce", headers, body)[0] == 404
            assert state(db_url) == applied


def test_woocommerce_deliveries_through_the_receiver(db_url: str) -> None:
    from shop.commerce.woocommerce import WooCommerceConfig, WooCommercePlatform
    from tests.fakes.woocommerce_server import KEY, SECRET, WEBHOOK_SECRET, FakeWooCommerce

    with FakeWooCommerce() as fake:
        product = fake.add_product("Trail Mug", 1299, stock=7)
        platform = WooCommercePlatform(WooCommerceConfig(store_url=fake.url, consumer_key=KEY, consumer_secret=SECRET,
                                                         webhook_secret=WEBHOOK_SECRET))
        app = create_webhook_app(WebhookConfig(database_url=db_url, platform=platform))
        with served(app) as base, httpx.Client(base_url=base, timeout=30) as http:
            url = f"{base}/webhooks/commerce/woocommerce"
            assert fake.ping(url)[0] == 200  # WooCommerce refuses to save a webhook whose ping fails
            headers, body = fake.webhook("product.updated", product["id"], delivery_id="d-1")
            assert post(http, "/webhooks/commerce/woocommerce", headers, body) == (200, {"status": "applied"})
            assert post(http, "/webhooks/commerce/woocommerce", headers, body) == (200, {"status": "duplicate"})
            applied = state(db_url)
            assert [p[:3] for p in applied["products"]] == [(str(product["id"]), "Trail Mug", 1299)]
            forged, forged_body = fake.webhook("product.updated", product["id"], delivery_id="d-2",
                                               secret="guessed-secret-0123456789")
            assert post(http, "/webhooks/commerce/woocommerce", forged, forged_body)[0] == 401
            assert post(http, "/webhooks/commerce/shopify", headers, body)[0] == 404
            assert state(db_url) == applied

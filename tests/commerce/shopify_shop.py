"""The fake Shopify shop the connector tests share: a seeded catalog, customers and
orders in every state (:func:`seed`), the connector pointed at the fake with its waits
on the fake's clock (:func:`make_platform`), the fixtures ``fake`` and ``platform`` the
test_shopify* files import, and a webhook receiver on loopback that verifies and
applies deliveries as the real endpoint does (:class:`Inbox`)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from sqlalchemy import func, select

from shop.commerce.errors import WebhookRejected
from shop.commerce.shopify import ShopifyConfig, ShopifyPlatform, build_http
from shop.commerce.webhooks import apply_webhook
from shop.db.engine import session_scope
from shop.db.schema import Order
from tests.fakes.shopify_server import CLIENT_SECRET, DOMAIN, TOKEN, FakeShopify

NOW = datetime(2026, 12, 7, 12, 0)


def make_platform(fake: FakeShopify, *, window_objects: int | None = None, **config: Any) -> ShopifyPlatform:
    """The connector for ``fake``, its waits on the fake's clock; ``config`` overrides settings."""
    values: dict[str, Any] = {"domain": DOMAIN, "token": TOKEN, "webhook_secret": CLIENT_SECRET,
                              "api_version": fake.api_version, "base_url": fake.url, **config}
    cfg = ShopifyConfig(**values)
    extra = {"window_objects": window_objects} if window_objects else {}
    return ShopifyPlatform(cfg, http=build_http(cfg, sleep=fake.clock.sleep, clock=fake.clock),
                           sleep=fake.clock.sleep, **extra)


@pytest.fixture
def fake() -> Iterator[FakeShopify]:
    """A fresh fake Shopify shop (empty until :func:`seed`)."""
    with FakeShopify() as shop:
        yield shop


@pytest.fixture
def platform(fake: FakeShopify) -> Iterator[ShopifyPlatform]:
    """The connector for ``fake`` (:func:`make_platform`), closed after the test."""
    connector = make_platform(fake)
    yield connector
    connector.close()


class Shop:
    """What :func:`seed` put in the fake: the interesting products and orders by name."""

    def __init__(self, fake: FakeShopify) -> None:
        self.fake = fake
        self.tent: dict[str, Any] = {}
        self.jacket: dict[str, Any] = {}
        self.socks: dict[str, Any] = {}
        self.draft: dict[str, Any] = {}
        self.dana: dict[str, Any] = {}
        self.lee: dict[str, Any] = {}
        self.orders: dict[str, dict[str, Any]] = {}


def seed(fake: FakeShopify, *, filler: int = 0) -> Shop:
    shop = Shop(fake)
    shop.tent = fake.add_product("Trail Tent 2P", options=["Size", "Color"], tags=["camping", "tents"], variants=[
        {"price": "199.00", "compare_at": "249.00", "options": ["M", "Green"], "stock": 4, "sku": "TT-M-GRN"},
        {"price": "219.00", "options": ["L", "Grey"], "stock": 0, "sku": "TT-L-GRY"}])
    # more variants than the first page holds: finished with a follow-up query
    shop.jacket = fake.add_product("Storm Jacket", vendor="Peakline", product_type="Jackets",
                                   options=["Size", "Color"],
                                   description_html="<p>Waterproof &amp; light.</p><script>alert(1)</script>",
                                   variants=[{"price": "129.50", "options": [size, colour], "stock": 2}
                                             for size in ("XS", "S", "M", "L", "XL", "XXL")
                                             for colour in ("Red", "Navy")])
    shop.socks = fake.add_product("Wool Socks", product_type="Socks", image=None,
                                  variants=[{"price": "14.00", "tracked": False}])
    shop.draft = fake.add_product("Prototype Stove", status="DRAFT", variants=[{"price": "89.99"}])
    for i in range(filler):
        fake.add_product(f"Filler Product {i:03d}", product_type="Misc", variants=[{"price": f"{5 + i}.00"}])
    shop.dana = fake.add_customer("dana@example.com", "Dana", "Ng", subscribed=True)
    shop.lee = fake.add_customer("lee@example.com", "Lee", "Park", city="Lyon", country="FR")
    tent_m, tent_l = shop.tent["variant_ids"]
    jacket_vs = shop.jacket["variant_ids"]
    shop.orders["processing"] = fake.add_order(shop.dana, [(tent_m, 1)])
    shop.orders["pending"] = fake.add_order(shop.lee, [(jacket_vs[0], 1)], financial="PENDING")
    shop.orders["shipped"] = fake.add_order(shop.dana, [(jacket_vs[3], 2)])
    fake.fulfill(shop.orders["shipped"], company="UPS", number="1Z999AA10123456784")
    shop.orders["delivered"] = fake.add_order(shop.dana, [(tent_l, 1), (jacket_vs[5], 1)])
    fake.fulfill(shop.orders["delivered"], company="DHL", number="JD0142", delivered=True)
    shop.orders["partial"] = fake.add_order(shop.lee, [(tent_m, 1), (jacket_vs[1], 1)])
    fake.fulfill(shop.orders["partial"], lines=[(shop.orders["partial"]["lines"][0]["id"], 1)], number="PART1")
    shop.orders["cancelled"] = fake.add_order(shop.lee, [(jacket_vs[2], 1)])
    shop.orders["cancelled"]["cancelledAt"] = fake.tick()
    # more lines than the first page holds
    shop.orders["big"] = fake.add_order(shop.dana, [(v, 1) for v in jacket_vs])
    return shop


class Inbox:
    """A webhook receiver on loopback: each delivery goes through ``parse_webhook`` and
    ``apply_webhook`` in its own transaction, answered with 200 or the rejection's status."""

    def __init__(self, platform: ShopifyPlatform, db_url: str) -> None:
        self.platform = platform
        self.db_url = db_url
        self.outcomes: list[tuple[int, str]] = []
        inbox = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                status, note = inbox.receive(dict(self.headers.items()), body)
                inbox.outcomes.append((status, note))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/webhooks/shopify"

    def receive(self, headers: dict[str, str], body: bytes) -> tuple[int, str]:
        try:
            event = self.platform.parse_webhook(headers=headers, body=body)
        except WebhookRejected as exc:
            return exc.status, str(exc)
        with session_scope(self.db_url) as session:
            outcome = apply_webhook(session, event=event, now=NOW)
        return 200, "duplicate" if outcome.duplicate else event.topic

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()



def count(db_url: str, model: Any, *where: Any) -> int:
    with session_scope(db_url) as session:
        return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def order_row(session: Any, fake_order: dict[str, Any]) -> Order:
    row = session.scalar(select(Order).where(Order.external_source == "shopify",
                                             Order.external_id == FakeShopify.gid("Order", fake_order["id"])))
    assert row is not None
    return row

"""What the WooCommerce tests share: a seeded fake store, a connector pointed at it
(with a recording ``sleep`` so retries cost no time), and a loopback webhook endpoint
that does what the shop's endpoint does: ``parse_webhook`` on the raw body, then
``apply_webhook`` in a real database."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from shop.commerce.errors import WebhookRejected
from shop.commerce.http import PlatformHttp
from shop.commerce.webhooks import apply_webhook
from shop.commerce.woocommerce import WooCommerceConfig, WooCommercePlatform
from shop.db.engine import session_scope
from tests.fakes.woocommerce_server import KEY, SECRET, WEBHOOK_SECRET, FakeWooCommerce

NOW = datetime(2026, 12, 7, 12, 0)


@dataclass
class Seeded:
    """Ids of the seeded store's things, by what they are for."""

    tee: int = 0
    jacket: int = 0
    jacket_m_blue: int = 0
    jacket_l_blue: int = 0
    jacket_m_red: int = 0
    mug: int = 0
    socks: int = 0
    draft: int = 0
    sale: int = 0
    dana: int = 0
    manager: int = 0
    processing: int = 0
    on_hold: int = 0
    completed: int = 0
    tracked: int = 0
    failed: int = 0
    cancelled: int = 0
    checkout_draft: int = 0


def seed(fake: FakeWooCommerce) -> Seeded:
    ids = Seeded()
    ids.tee = fake.add_product("Merino Tee", 3500, sku="TEE-1", brand="Northway", tags=("wool", "base layer"),
                               stock=12, description="<p>Soft <strong>merino</strong> wool &amp; no itch.</p>")["id"]
    jacket = fake.add_product("Rain Jacket", 12000, category="Jackets", variations=[
        {"size": "M", "color": "Blue", "price_cents": 12000, "stock": 3, "sku": "RJ-M-BLU"},
        {"size": "L", "color": "Blue", "price_cents": 12000, "stock": 0},
        {"size": "M", "color": "Red", "price_cents": 12500, "manage_stock": False}])
    ids.jacket = jacket["id"]
    ids.jacket_m_blue, ids.jacket_l_blue, ids.jacket_m_red = jacket["variations"]
    ids.mug = fake.add_product("Camp Mug", 1500, manage_stock=False, category="Uncategorized")["id"]
    ids.socks = fake.add_product("Hiking Socks", 1200, manage_stock=False, stock_status="outofstock")["id"]
    ids.draft = fake.add_product("Secret Prototype", 9900, status="draft")["id"]
    ids.sale = fake.add_product("Trail Cap", 2000, regular_cents=2500)["id"]
    ids.dana = fake.add_customer("dana.ng@example.com", "Dana", "Ng")["id"]
    ids.manager = fake.add_customer("lee.park@example.com", "Lee", "Park", role="shop_manager")["id"]
    ids.processing = fake.add_order(email="dana.ng@example.com", customer_id=ids.dana,
                                    items=[(ids.tee, 0, 2), (ids.jacket, ids.jacket_m_blue, 1)])["id"]
    ids.on_hold = fake.add_order(email="sam.lee@example.com", items=[(ids.mug, 0, 1)], status="on-hold")["id"]
    ids.completed = fake.add_order(email="dana.ng@example.com", customer_id=ids.dana, items=[(ids.tee, 0, 1)],
                                   status="completed", tracking=("usps", "9400111899223344556677"),
                                   tax_rate_id=3)["id"]
    ids.tracked = fake.add_order(email="sam.lee@example.com", items=[(ids.sale, 0, 1)],
                                 tracking=("ups", "1Z999AA10123456784"))["id"]
    ids.failed = fake.add_order(email="kim.ode@example.com", items=[(ids.mug, 0, 1)], status="failed")["id"]
    ids.cancelled = fake.add_order(email="kim.ode@example.com", items=[(ids.mug, 0, 2)], status="cancelled")["id"]
    ids.checkout_draft = fake.add_order(email="kim.ode@example.com", items=[(ids.tee, 0, 1)],
                                        status="checkout-draft")["id"]
    return ids


@dataclass
class Connector:
    platform: WooCommercePlatform
    sleeps: list[float] = field(default_factory=list)


def connector(fake: FakeWooCommerce, **overrides: Any) -> Connector:
    """The connector for ``fake``, its waits recorded instead of slept."""
    config = WooCommerceConfig(store_url=fake.url, consumer_key=overrides.pop("consumer_key", KEY),
                               consumer_secret=overrides.pop("consumer_secret", SECRET),
                               webhook_secret=WEBHOOK_SECRET, **overrides)
    sleeps: list[float] = []
    auth = None if config.query_string_auth else (config.consumer_key, config.consumer_secret)
    http = PlatformHttp(base_url=config.api_url, auth=auth, timeout_s=5, max_attempts=4, max_wait_s=10,
                        sleep=sleeps.append)
    return Connector(WooCommercePlatform(config, http=http), sleeps)


@dataclass
class Received:
    status: int
    topic: str
    duplicate: bool | None


@contextmanager
def webhook_endpoint(platform: WooCommercePlatform, db_url: str) -> Iterator[tuple[str, list[Received]]]:
    """A loopback endpoint doing what the shop's webhook endpoint does; yields its URL
    and what it answered to each delivery."""
    log: list[Received] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            try:
                event = platform.parse_webhook(headers=dict(self.headers.items()), body=raw)
            except WebhookRejected as exc:
                log.append(Received(exc.status, "", None))
                self._answer(exc.status, {"error": str(exc)})
                return
            duplicate = None
            if event.topic != "ping":
                with session_scope(db_url) as session:
                    duplicate = apply_webhook(session, event=event, now=NOW).duplicate
            log.append(Received(200, event.topic, duplicate))
            self._answer(200, {"topic": event.topic, "duplicate": duplicate})

        def _answer(self, status: int, payload: dict[str, Any]) -> None:
            body = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/webhooks/commerce/woocommerce", log
    finally:
        server.shutdown()
        server.server_close()

"""A small in-memory :class:`~shop.commerce.platform.CommercePlatform` for the tests of
the wiring around the connectors (write-back from chat, the webhook receiver, the
actions): it holds orders, records every call, can be told to refuse or to be
unreachable, and verifies webhook signatures the way Shopify does (base64 HMAC-SHA256 of
the raw body under a shared secret, ``X-Shopify-Hmac-Sha256``). The real connectors are
tested against their fake HTTP servers in tests/commerce/."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from shop.commerce.errors import PlatformRefused, PlatformUnavailable, WebhookRejected
from shop.commerce.records import (
    AddressRecord,
    CustomerRecord,
    OrderLineRecord,
    OrderRecord,
    ProductRecord,
    ReturnRecord,
    VariantRecord,
    WebhookEvent,
)

NOW = datetime(2026, 12, 7, 12, 0)
SECRET = "double-webhook-secret"
EMAIL = "dana@example.com"

TENT = ProductRecord(external_id="101", handle="trail-tent-2p", title="Trail Tent 2P", price_cents=19900,
                     brand="Northway", category="Tents",
                     variants=(VariantRecord(external_id="1011", sku="TT-2P-GRN", colour="Green", stock=4),),
                     updated_at=NOW - timedelta(days=3))

ORDER = OrderRecord(
    external_id="9001", number="#1001", email=EMAIL, status="processing", placed_at=NOW - timedelta(days=2),
    total_cents=20900, subtotal_cents=19900, shipping_cents=1000,
    customer=CustomerRecord(external_id="77", email=EMAIL, first_name="Dana", last_name="Ng"),
    shipping_address=AddressRecord(name="Dana Ng", line1="1 Main St", city="Springfield", postcode="12345",
                                   country="US"),
    lines=(OrderLineRecord(external_id="L1", title="Trail Tent 2P", quantity=1, unit_price_cents=19900,
                           product_external_id="101", variant_external_id="1011", colour="Green"),),
    updated_at=NOW - timedelta(days=2))

DELIVERED = replace(ORDER, external_id="9002", number="#1002", status="delivered",
                    shipped_at=NOW - timedelta(days=6), delivered_at=NOW - timedelta(days=4),
                    lines=(replace(ORDER.lines[0], external_id="L2"),))


@dataclass
class PlatformDouble:
    """Answers like a platform that holds ``orders``. ``fail``: raise this from every
    write; ``answer_with``: return this order instead of the one asked about."""

    name: str = "shopify"
    supports_returns: bool = True
    orders: dict[str, OrderRecord] = field(default_factory=dict)
    fail: Exception | None = None
    answer_with: OrderRecord | None = None
    calls: list[tuple[str, Any]] = field(default_factory=list)
    secret: str = SECRET

    def holding(self, *records: OrderRecord) -> PlatformDouble:
        self.orders.update({r.external_id: r for r in records})
        return self

    def _write(self, what: str, external_id: str, **changes: Any) -> OrderRecord:
        self.calls.append((what, external_id))
        if self.fail is not None:
            raise self.fail
        order = self.orders.get(external_id)
        if order is None:
            raise PlatformRefused("not_found", f"order {external_id} not found")
        if order.status not in ("pending", "processing"):
            raise PlatformRefused("already_shipped" if order.status != "cancelled" else "already_cancelled",
                                  f"order is {order.status}")
        self.orders[external_id] = replace(order, updated_at=NOW, **changes)
        return self.answer_with or self.orders[external_id]

    # --- reading ---------------------------------------------------------------------
    def iter_products(self, *, updated_since: datetime | None = None) -> Iterator[ProductRecord]:
        yield TENT

    def iter_customers(self, *, updated_since: datetime | None = None) -> Iterator[CustomerRecord]:
        yield from ()

    def iter_orders(self, *, updated_since: datetime | None = None) -> Iterator[OrderRecord]:
        yield from self.orders.values()

    def get_order(self, *, external_id: str) -> OrderRecord:
        return self.orders[external_id]

    # --- writing ---------------------------------------------------------------------
    def cancel_order(self, *, external_id: str, reason: str) -> OrderRecord:
        return self._write("cancel", external_id, status="cancelled")

    def change_shipping_address(self, *, external_id: str, address: AddressRecord) -> OrderRecord:
        if address.postcode == "00000":
            self.calls.append(("address", external_id))
            raise PlatformRefused("invalid", "zip is not valid for the country")
        return self._write("address", external_id, shipping_address=address)

    def request_return(self, *, order_external_id: str, line_external_id: str, quantity: int,
                       reason: str) -> ReturnRecord:
        self.calls.append(("return", order_external_id))
        if self.fail is not None:
            raise self.fail
        return ReturnRecord(external_id="R-55", order_external_id=order_external_id,
                            line_external_id=line_external_id, quantity=quantity, status="requested",
                            refund_cents=18000)

    # --- webhooks --------------------------------------------------------------------
    def sign(self, body: bytes) -> str:
        return base64.b64encode(hmac.new(self.secret.encode(), body, hashlib.sha256).digest()).decode()

    def parse_webhook(self, *, headers: Mapping[str, str], body: bytes) -> WebhookEvent:
        given = (headers.get("x-shopify-hmac-sha256") or "").encode("utf-8", "replace")
        # bytes, not str: compare_digest raises TypeError on a str with non-ASCII characters
        if not given or not hmac.compare_digest(given, self.sign(body).encode()):
            raise WebhookRejected("bad signature", status=401)
        topic, delivery = headers.get("x-shopify-topic") or "", headers.get("x-shopify-webhook-id") or ""
        if topic != "products/update" or not delivery:
            raise WebhookRejected(f"unknown topic {topic!r}", status=400)
        try:
            data = json.loads(body)
            product = replace(TENT, external_id=str(data["id"]), title=str(data["title"]),
                              price_cents=int(data.get("price_cents", TENT.price_cents)))
        except (ValueError, KeyError, TypeError) as exc:
            raise WebhookRejected(f"malformed body: {exc}", status=400) from exc
        return WebhookEvent(source=self.name, topic="product.updated", delivery_id=delivery, products=(product,),
                            raw_topic=topic)

    def webhook(self, payload: dict[str, Any], *, delivery_id: str, topic: str = "products/update",
                secret: str | None = None) -> tuple[bytes, dict[str, str]]:
        """A delivery as the platform sends it: ``(body, headers)``, signed with ``secret``
        (default the platform's own)."""
        body = json.dumps(payload).encode()
        signer = self if secret is None else replace(self, secret=secret)
        return body, {"X-Shopify-Hmac-Sha256": signer.sign(body), "X-Shopify-Topic": topic,
                      "X-Shopify-Webhook-Id": delivery_id, "Content-Type": "application/json"}


def unavailable() -> PlatformUnavailable:
    return PlatformUnavailable("POST /graphql.json: HTTP 503 after 4 tries")

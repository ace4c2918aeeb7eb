"""Checking a Shopify webhook delivery before anything in it is believed.

Shopify signs the raw body: ``X-Shopify-Hmac-Sha256`` is base64(HMAC-SHA256(app client
secret, body)) (https://shopify.dev/docs/apps/build/webhooks/verify-deliveries). The
other headers (https://shopify.dev/docs/apps/build/webhooks/delivery-structure):
``X-Shopify-Topic``, ``X-Shopify-Shop-Domain``, ``X-Shopify-Webhook-Id`` (the delivery:
the same on Shopify's retries, so the replay guard keys on it; ``X-Shopify-Event-Id``
when it is missing), ``X-Shopify-Triggered-At``, ``X-Shopify-API-Version``.

Checked in this order, each failure a :class:`~shop.commerce.errors.WebhookRejected`
with the status to answer: body size (413), signature (401), shop domain (403), topic
(400), delivery id (400), JSON object body (400).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from shop.commerce.errors import WebhookRejected

MAX_BODY_BYTES = 2 * 1024 * 1024

#: Shopify topic -> the topic in the shop's words (``WebhookEvent.topic``)
TOPICS = {
    "products/create": "product.updated",
    "products/update": "product.updated",
    "products/delete": "product.deleted",
    "inventory_levels/update": "inventory.updated",
    "orders/create": "order.updated",
    "orders/updated": "order.updated",
    "orders/cancelled": "order.updated",
    "orders/fulfilled": "order.updated",
    "orders/partially_fulfilled": "order.updated",
    "orders/paid": "order.updated",
    "customers/create": "customer.updated",
    "customers/update": "customer.updated",
}

_DELIVERY_ID_RE = re.compile(r"^[A-Za-z0-9._:\-]{1,100}$")


@dataclass(frozen=True)
class Delivery:
    """A delivery whose signature and shop were checked: its Shopify topic, delivery
    id, the parsed body and the informative headers."""

    topic: str
    delivery_id: str
    payload: dict[str, Any]
    extra: dict[str, str]


def signature(secret: str, body: bytes) -> str:
    """What Shopify puts in ``X-Shopify-Hmac-Sha256`` for ``body``."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def signature_ok(secret: str, body: bytes, given: str | None) -> bool:
    if not given or len(given) > 200:
        return False
    return hmac.compare_digest(signature(secret, body).encode(), given.strip().encode("ascii", "replace"))


def read_delivery(headers: Mapping[str, str], body: bytes, *, secret: str, shop_domain: str) -> Delivery:
    """Check a delivery (the module's list, in order) and parse its body."""
    if len(body) > MAX_BODY_BYTES:
        raise WebhookRejected(f"webhook body of {len(body)} bytes is over the {MAX_BODY_BYTES} byte limit",
                              status=413)
    lower = {k.lower(): v for k, v in headers.items()}
    if not signature_ok(secret, body, lower.get("x-shopify-hmac-sha256")):
        raise WebhookRejected("missing or wrong X-Shopify-Hmac-Sha256 signature", status=401)
    domain = (lower.get("x-shopify-shop-domain") or "").strip().lower()
    if domain != shop_domain:
        raise WebhookRejected(f"webhook for shop {domain[:80]!r}, not this shop", status=403)
    topic = (lower.get("x-shopify-topic") or "").strip().lower()
    if topic not in TOPICS:
        raise WebhookRejected(f"unknown webhook topic {topic[:60]!r}; known: {', '.join(sorted(TOPICS))}",
                              status=400)
    delivery_id = (lower.get("x-shopify-webhook-id") or lower.get("x-shopify-event-id") or "").strip()
    if not _DELIVERY_ID_RE.match(delivery_id):
        raise WebhookRejected("missing or malformed X-Shopify-Webhook-Id (1-100 letters, digits, '.', '_', ':', '-')",
                              status=400)
    try:
        payload = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise WebhookRejected("webhook body is not UTF-8 JSON", status=400) from None
    if not isinstance(payload, dict):
        raise WebhookRejected("webhook body is not a JSON object", status=400)
    extra = {"shop_domain": domain}
    for header, key in (("x-shopify-event-id", "event_id"), ("x-shopify-triggered-at", "triggered_at"),
                        ("x-shopify-api-version", "api_version")):
        if lower.get(header):
            extra[key] = lower[header][:100]
    return Delivery(topic=topic, delivery_id=delivery_id, payload=payload, extra=extra)

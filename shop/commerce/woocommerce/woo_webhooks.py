"""Verify and read a WooCommerce webhook delivery.

WooCommerce (``WC_Webhook::deliver``, https://developer.woocommerce.com/docs/apis/rest-api/v3/webhooks/)
POSTs the resource as the REST API would return it (``{"id": N}`` only for ``*.deleted``)
with these headers:

- ``X-WC-Webhook-Signature``: base64(HMAC-SHA256(webhook secret, raw body)), checked in
  constant time over the bytes as received (never re-serialised);
- ``X-WC-Webhook-Source``: the store's home URL (``https://shop.example.com/``), which
  must be the configured store: a delivery from another site, even one that shares the
  secret (a staging copy), is refused;
- ``X-WC-Webhook-Topic`` (``order.updated``...), ``X-WC-Webhook-ID``;
- ``X-WC-Webhook-Delivery-ID``: ``wp_hash(webhook id . time())``, the same for two
  deliveries of one webhook within one second, so the replay key is that id plus a hash
  of the body: a replayed request (same bytes) is applied once, two different events
  sent in the same second are both applied.

When a webhook is saved, WooCommerce first POSTs a ping: the form body
``webhook_id=NN`` with none of those headers, and keeps the webhook only if it gets a
200. It is answered as accepted (topic ``ping``, no records): the endpoint must answer
200 without applying anything.

Topics, WooCommerce -> the shop's words: ``product.created|updated|restored`` ->
``product.updated`` (a variation's payload -> ``inventory.updated``: its stock; a
product's payload lists its variations' ids only, so a variable product's variants are
left as the mirror has them);
``product.deleted`` -> ``product.deleted``; ``order.created|updated|restored`` ->
``order.updated``; ``order.deleted`` -> ``order.deleted`` (no records: the mirror keeps
trashed orders; the id is in ``extra["order_id"]``); ``customer.created|updated`` ->
``customer.updated``. Any other topic is refused (400), so WooCommerce reports a webhook
nobody reads.

An event about a variable product or a variation carries
``extra["variants_incomplete"]`` = the product's id: a new variation, or a variation's
new price or attributes, reaches the mirror only when the endpoint (after answering)
or the next incremental sync fetches the whole product
(:meth:`WooCommercePlatform.get_product`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from shop.commerce.errors import PlatformConfigError, WebhookRejected
from shop.commerce.records import WebhookEvent
from shop.commerce.woocommerce.woo_config import WooCommerceConfig, normalise_store_url
from shop.commerce.woocommerce.woo_records import (
    MalformedRecord,
    customer_record,
    order_record,
    product_record,
    stock_of,
)
from shop.commerce.woocommerce.woo_values import positive_int

SOURCE = "woocommerce"
TOPICS = {
    "product.created": "product.updated", "product.updated": "product.updated",
    "product.restored": "product.updated", "product.deleted": "product.deleted",
    "order.created": "order.updated", "order.updated": "order.updated", "order.restored": "order.updated",
    "order.deleted": "order.deleted",
    "customer.created": "customer.updated", "customer.updated": "customer.updated",
}
_PING_RE = re.compile(rb"\Awebhook_id=(\d{1,20})\Z")
_DELIVERY_RE = re.compile(r"\A[A-Za-z0-9_.:-]{1,64}\Z")


def signature(secret: str, body: bytes) -> str:
    """What WooCommerce sends in ``X-WC-Webhook-Signature`` for ``body``."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def _same_store(header: str, config: WooCommerceConfig) -> bool:
    try:
        return normalise_store_url(header) == config.store_url
    except PlatformConfigError:
        return False


def _payload(body: bytes) -> dict[str, Any]:
    try:
        payload = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise WebhookRejected(f"WooCommerce webhook body is not JSON: {type(exc).__name__}", status=400) from exc
    if not isinstance(payload, dict):
        raise WebhookRejected("WooCommerce webhook body must be a JSON object", status=400)
    return payload


def parse_delivery(*, headers: Mapping[str, str], body: bytes, config: WooCommerceConfig) -> WebhookEvent:
    """Verify one delivery and parse it (see the module docstring); raises
    :class:`WebhookRejected` with the HTTP status to answer."""
    if len(body) > config.max_webhook_bytes:
        raise WebhookRejected(f"WooCommerce webhook body over {config.max_webhook_bytes} bytes", status=413)
    lower = {k.lower(): v for k, v in headers.items()}
    topic = lower.get("x-wc-webhook-topic", "").strip()
    given = lower.get("x-wc-webhook-signature", "").strip()
    ping = _PING_RE.match(body.strip())
    if ping and not topic and not given:
        webhook_id = ping.group(1).decode()
        return WebhookEvent(source=SOURCE, topic="ping", delivery_id=f"ping-{webhook_id}",
                            extra={"webhook_id": webhook_id})
    if not given:
        raise WebhookRejected("WooCommerce webhook without X-WC-Webhook-Signature", status=401)
    if not hmac.compare_digest(given.encode(), signature(config.webhook_secret, body).encode()):
        raise WebhookRejected("WooCommerce webhook signature does not match the body", status=401)
    source = lower.get("x-wc-webhook-source", "").strip()
    if not _same_store(source, config):
        raise WebhookRejected(f"WooCommerce webhook from {source[:100]!r}, not {config.store_url}", status=403)
    if topic not in TOPICS:
        raise WebhookRejected(f"WooCommerce webhook topic {topic[:60]!r} is not one of {sorted(TOPICS)}", status=400)
    delivery = lower.get("x-wc-webhook-delivery-id", "").strip()
    if not _DELIVERY_RE.match(delivery):
        raise WebhookRejected("WooCommerce webhook without a usable X-WC-Webhook-Delivery-ID", status=400)
    delivery_id = f"{delivery}:{hashlib.sha256(body).hexdigest()[:32]}"
    payload = _payload(body)
    try:
        return _event(TOPICS[topic], topic, delivery_id, payload, config)
    except MalformedRecord as exc:
        raise WebhookRejected(f"WooCommerce {topic} payload: {exc}", status=400) from exc


def _event(topic: str, raw_topic: str, delivery_id: str, payload: dict[str, Any],
           config: WooCommerceConfig) -> WebhookEvent:
    base = WebhookEvent(source=SOURCE, topic=topic, delivery_id=delivery_id, raw_topic=raw_topic)
    if topic.endswith(".deleted"):
        resource_id = positive_int(payload.get("id"))
        if resource_id is None:
            raise MalformedRecord("a deletion without a positive integer id")
        if topic == "product.deleted":
            return replace(base, topic=topic, deleted_product_ids=(str(resource_id),))
        return replace(base, topic=topic, extra={"order_id": str(resource_id)})
    if topic == "product.updated":
        if payload.get("type") == "variation":
            variation_id = positive_int(payload.get("id"))
            if variation_id is None:
                raise MalformedRecord("a variation without a positive integer id")
            stock = stock_of(payload.get("manage_stock"), payload.get("stock_quantity"), payload.get("stock_status"))
            parent = positive_int(payload.get("parent_id"))
            return replace(base, topic="inventory.updated", inventory=((str(variation_id), stock),),
                           extra={"variants_incomplete": str(parent)} if parent else {})
        product = product_record(payload, config=config)
        extra = {"variants_incomplete": product.external_id} if payload.get("type") == "variable" else {}
        return replace(base, topic=topic, products=(product,), extra=extra)
    if topic == "order.updated":
        order = order_record(payload, config=config)
        if order is None:
            return replace(base, topic=topic, extra={"skipped": str(payload.get("status"))[:40]})
        return replace(base, topic=topic, orders=(order,))
    return replace(base, topic=topic, customers=(customer_record(payload),))

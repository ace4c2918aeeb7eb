"""Webhook deliveries from the fake Shopify, as Shopify sends them
(https://shopify.dev/docs/apps/build/webhooks/delivery-structure, payloads per topic at
https://shopify.dev/docs/api/webhooks): REST-format bodies (numeric ids,
``admin_graphql_api_id``, snake_case, money as strings, times in the shop's own UTC
offset) and the ``X-Shopify-*`` headers, signed base64(HMAC-SHA256(client secret, body)).
Mixed into :class:`tests.fakes.shopify_server.FakeShopify`."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import httpx

SHOP_OFFSET = timezone(timedelta(hours=-5))  # the shop's time zone in webhook bodies


def z(value: datetime | None) -> str | None:
    return None if value is None else value.replace(microsecond=0).isoformat() + "Z"


def local(value: datetime | None) -> str | None:
    """A naive UTC time as the shop's local time with its offset (REST webhook bodies)."""
    if value is None:
        return None
    return value.replace(tzinfo=timezone.utc).astimezone(SHOP_OFFSET).replace(microsecond=0).isoformat()


def amount(value: Decimal) -> str:
    return str(value.quantize(Decimal("0.01")))


class ShopifyWebhookBodies:
    """REST payloads of the fake's state, and signed deliveries of them."""

    products: dict[int, dict[str, Any]]
    variants: dict[int, dict[str, Any]]
    customers: dict[int, dict[str, Any]]
    currency: str
    domain: str
    api_version: str
    client_secret: str
    location: int

    def rest_product(self, product: dict[str, Any]) -> dict[str, Any]:
        """``products/create|update`` body (REST Product resource)."""
        names = product["options"]
        variants = []
        for position, vid in enumerate(product["variant_ids"], start=1):
            v = self.variants[vid]
            values = [*v["options"], None, None, None][:3]
            variants.append({
                "id": vid, "product_id": product["id"], "title": " / ".join(v["options"]), "price": v["price"],
                "position": position, "inventory_policy": "deny", "compare_at_price": v["compareAtPrice"],
                "option1": values[0], "option2": values[1], "option3": values[2],
                "created_at": local(product["createdAt"]), "updated_at": local(product["updatedAt"]),
                "taxable": True, "barcode": None, "sku": v["sku"], "grams": 0, "weight": 0.0, "weight_unit": "kg",
                "inventory_item_id": v["inventory_item_id"], "inventory_quantity": sum(v["levels"].values()),
                "old_inventory_quantity": sum(v["levels"].values()),
                "inventory_management": "shopify" if v["tracked"] else None, "requires_shipping": True,
                "admin_graphql_api_id": self.gid("ProductVariant", vid), "image_id": None})
        image = {"id": product["id"] + 7, "position": 1, "src": product["image"], "product_id": product["id"],
                 "admin_graphql_api_id": self.gid("ProductImage", product["id"] + 7)} if product["image"] else None
        return {"id": product["id"], "admin_graphql_api_id": self.gid("Product", product["id"]),
                "title": product["title"], "body_html": product["descriptionHtml"], "vendor": product["vendor"],
                "product_type": product["productType"], "handle": product["handle"],
                "created_at": local(product["createdAt"]), "updated_at": local(product["updatedAt"]),
                "published_at": local(product["createdAt"]), "template_suffix": None, "published_scope": "global",
                "tags": ", ".join(product["tags"]), "status": product["status"].lower(), "variants": variants,
                "options": [{"id": product["id"] * 10 + i, "product_id": product["id"], "name": n, "position": i,
                             "values": sorted({self.variants[v]["options"][i - 1] for v in product["variant_ids"]
                                               if len(self.variants[v]["options"]) >= i})}
                            for i, n in enumerate(names, start=1)],
                "images": [image] if image else [], "image": image}

    def rest_customer(self, customer: dict[str, Any]) -> dict[str, Any]:
        return {"id": customer["id"], "admin_graphql_api_id": self.gid("Customer", customer["id"]),
                "email": customer["email"], "first_name": customer["firstName"], "last_name": customer["lastName"],
                "phone": customer["phone"], "created_at": local(customer["createdAt"]),
                "updated_at": local(customer["updatedAt"]), "state": "enabled", "verified_email": True,
                "tags": "", "currency": self.currency,
                "email_marketing_consent": {"state": "subscribed" if customer["subscribed"] else "not_subscribed",
                                            "opt_in_level": "single_opt_in", "consent_updated_at": None},
                "default_address": {"id": customer["id"] + 3, "customer_id": customer["id"],
                                    "first_name": customer["firstName"], "last_name": customer["lastName"],
                                    "city": customer["city"], "country_code": customer["country"], "default": True}}

    def rest_order(self, order: dict[str, Any]) -> dict[str, Any]:
        """``orders/*`` body (REST Order resource)."""
        subtotal, shipping, total = self._totals(order)
        status = self._fulfillment_status(order)
        shipped = self._shipped(order)
        customer = self.customers.get(order["customer_id"]) if order["customer_id"] else None
        address = order["address"]
        fulfillments = []
        for f in order["fulfillments"]:
            fulfillments.append({
                "id": f["id"], "admin_graphql_api_id": self.gid("Fulfillment", f["id"]), "order_id": order["id"],
                "status": f["status"].lower(), "created_at": local(f["createdAt"]),
                "updated_at": local(f["updatedAt"]), "tracking_company": f["company"],
                "tracking_number": f["number"], "tracking_numbers": [f["number"]] if f["number"] else [],
                "tracking_url": None, "shipment_status": "delivered" if f["deliveredAt"] else "in_transit",
                "line_items": [{"id": line["line_id"], "quantity": line["quantity"]} for line in f["lines"]]})
        return {
            "id": order["id"], "admin_graphql_api_id": self.gid("Order", order["id"]), "name": f"#{order['number']}",
            "order_number": order["number"], "number": order["number"] - 1000, "email": order["email"],
            "contact_email": order["email"], "created_at": local(order["createdAt"]),
            "processed_at": local(order["processedAt"]), "updated_at": local(order["updatedAt"]),
            "cancelled_at": local(order["cancelledAt"]),
            "cancel_reason": (order["cancelReason"] or "").lower() or None,
            "financial_status": order["financial"].lower(),
            "fulfillment_status": {"FULFILLED": "fulfilled", "PARTIALLY_FULFILLED": "partial"}.get(status),
            "currency": self.currency, "presentment_currency": self.currency,
            "total_price": amount(total), "subtotal_price": amount(subtotal),
            "total_price_set": {"shop_money": {"amount": amount(total), "currency_code": self.currency},
                                "presentment_money": {"amount": amount(total), "currency_code": self.currency}},
            "subtotal_price_set": {"shop_money": {"amount": amount(subtotal), "currency_code": self.currency},
                                   "presentment_money": {"amount": amount(subtotal), "currency_code": self.currency}},
            "total_shipping_price_set": {"shop_money": {"amount": amount(shipping), "currency_code": self.currency},
                                         "presentment_money": {"amount": amount(shipping),
                                                               "currency_code": self.currency}},
            "shipping_lines": [{"id": order["id"] + 5, "title": order["shippingTitle"], "price": amount(shipping),
                                "code": "Standard", "source": "shopify"}],
            "customer": self.rest_customer(customer) if customer else None,
            "shipping_address": {"first_name": address.get("firstName"), "last_name": address.get("lastName"),
                                 "name": address.get("name"), "address1": address.get("address1"),
                                 "address2": address.get("address2"), "city": address.get("city"),
                                 "zip": address.get("zip"), "country_code": address.get("countryCodeV2"),
                                 "province_code": address.get("provinceCode")},
            "line_items": [{"id": item["id"], "admin_graphql_api_id": self.gid("LineItem", item["id"]),
                            "title": item["title"],
                            "name": f"{item['title']} - {item['variantTitle']}" if item["variantTitle"]
                            else item["title"],
                            "variant_title": item["variantTitle"], "quantity": item["quantity"],
                            "current_quantity": item["quantity"], "price": item["price"],
                            "price_set": {"shop_money": {"amount": item["price"], "currency_code": self.currency},
                                          "presentment_money": {"amount": item["price"],
                                                                "currency_code": self.currency}},
                            "product_id": item["product_id"], "variant_id": item["variant_id"], "sku": item["sku"],
                            "fulfillment_status": "fulfilled" if shipped.get(item["id"], 0) >= item["quantity"]
                            else None}
                           for item in order["lines"]],
            "fulfillments": fulfillments}

    def rest_inventory_level(self, variant_id: int, *, location: int | None = None) -> dict[str, Any]:
        """``inventory_levels/update`` body: one item at one location."""
        location = location or self.location
        variant = self.variants[variant_id]
        item = variant["inventory_item_id"]
        return {"inventory_item_id": item, "location_id": location, "available": variant["levels"].get(location, 0),
                "updated_at": local(self.products[variant["product_id"]]["updatedAt"]),
                "admin_graphql_api_id": f"gid://shopify/InventoryLevel/{location}?inventory_item_id={item}"}

    def signed(self, topic: str, payload: dict[str, Any] | bytes, *, webhook_id: str | None = None,
               secret: str | None = None, shop_domain: str | None = None) -> tuple[dict[str, str], bytes]:
        """The headers and body of a delivery, signed as Shopify signs it."""
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        digest = hmac.new((secret or self.client_secret).encode(), body, hashlib.sha256).digest()
        headers = {"Content-Type": "application/json", "X-Shopify-Topic": topic,
                   "X-Shopify-Hmac-Sha256": base64.b64encode(digest).decode(),
                   "X-Shopify-Shop-Domain": shop_domain or self.domain, "X-Shopify-API-Version": self.api_version,
                   "X-Shopify-Webhook-Id": webhook_id or str(uuid.uuid4()),
                   "X-Shopify-Event-Id": str(uuid.uuid4()),
                   "X-Shopify-Triggered-At": z(self._now) or ""}
        return headers, body

    @staticmethod
    def post(url: str, headers: dict[str, str], body: bytes) -> int:
        """POST a delivery to ``url`` as Shopify does (5 s timeout); the status code."""
        return httpx.post(url, headers=headers, content=body, timeout=5.0).status_code

    def send_webhook(self, url: str, topic: str, payload: dict[str, Any], **kwargs: Any) -> int:
        headers, body = self.signed(topic, payload, **kwargs)
        return self.post(url, headers, body)

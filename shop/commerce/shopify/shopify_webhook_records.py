"""Webhook bodies (the REST Admin API's JSON: numeric ids, ``admin_graphql_api_id``,
snake_case) -> the same records, with the same gids, as the GraphQL reader gives.

Payload shapes: https://shopify.dev/docs/api/webhooks (topics ``products/*``,
``orders/*``, ``customers/*``, ``inventory_levels/update``) and the REST resources they
carry (https://shopify.dev/docs/api/admin-rest/2025-01/resources/product, ``order``,
``customer``).

Where REST says less than GraphQL:

- a variant is tracked when ``inventory_management`` names a manager (``"shopify"`` or a
  fulfillment service), untracked when it is ``null``; when the field is absent,
  tracked if ``inventory_quantity`` is a number;
- order lines carry ``variant_title`` (``"M / Blue"``) but not the option names: size and
  colour are guessed from it (:func:`~shop.commerce.shopify.shopify_values.size_and_colour_from_title`);
- a fulfillment is delivered when ``shipment_status`` is ``"delivered"``; REST has no
  delivery time, so the fulfillment's ``updated_at`` stands in for it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from shop.commerce.records import CustomerRecord, OrderLineRecord, OrderRecord, ProductRecord
from shop.commerce.shopify.shopify_ids import gid, optional_gid
from shop.commerce.shopify.shopify_records import address_record, build_customer, build_product
from shop.commerce.shopify.shopify_status import order_status
from shop.commerce.shopify.shopify_values import (
    cents,
    money,
    obj,
    optional_cents,
    size_and_colour,
    size_and_colour_from_title,
    tags,
    text_from_html,
    utc,
)

FAILED_FULFILLMENTS = frozenset({"cancelled", "error", "failure"})


def _id(kind: str, body: dict[str, Any]) -> str:
    """The gid of a REST object: its ``admin_graphql_api_id`` when it is of ``kind``, else from ``id``."""
    api_id = body.get("admin_graphql_api_id")
    if isinstance(api_id, str) and api_id.startswith(f"gid://shopify/{kind}/"):
        return gid(kind, api_id)
    return gid(kind, body["id"])


def _tracked_stock(variant: dict[str, Any]) -> int | None:
    quantity = variant.get("inventory_quantity")
    if isinstance(quantity, bool) or not isinstance(quantity, int):
        return None
    if "inventory_management" in variant and not variant.get("inventory_management"):
        return None
    return max(0, quantity)


def product_record(body: dict[str, Any], *, currency: str) -> ProductRecord:
    """A ``products/create`` or ``products/update`` body -> a record. A body without its
    variants (a subscription trimmed with ``include_fields``) is refused: read as a product
    with no variants it would zero the price."""
    if not isinstance(body.get("variants"), list) or not body["variants"]:
        raise ValueError("products webhook without variants: subscribe to the full payload")
    options = sorted((o for o in body.get("options") or [] if isinstance(o, dict)),
                     key=lambda o: int(o.get("position") or 0))
    names = [str(o.get("name") or "") for o in options]
    variants = []
    for variant in body.get("variants") or []:
        if not isinstance(variant, dict):
            continue
        values = [variant.get(f"option{i}") for i in (1, 2, 3)]
        size, colour = size_and_colour((name, str(value)) for name, value in zip(names, values, strict=False) if value)
        variants.append((_id("ProductVariant", variant), str(variant.get("sku") or "")[:80], cents(variant["price"]),
                         optional_cents(variant.get("compare_at_price")), size, colour, _tracked_stock(variant)))
    image = obj(body.get("image")) or None
    if image is None:
        images = [i for i in body.get("images") or [] if isinstance(i, dict)]
        image = images[0] if images else {}
    return build_product(
        external_id=_id("Product", body), handle=str(body.get("handle") or ""), title=str(body.get("title") or ""),
        description=text_from_html(body.get("body_html")), brand=body.get("vendor"), category=body.get("product_type"),
        tag_list=tags(body.get("tags")), active=str(body.get("status") or "").lower() == "active",
        image_url=image.get("src"), updated_at=utc(body.get("updated_at")), currency=currency, variants=variants)


def customer_record(body: dict[str, Any]) -> CustomerRecord:
    """A ``customers/*`` body (or an order's ``customer``) -> a record."""
    address = obj(body.get("default_address"))
    consent = obj(body.get("email_marketing_consent"))
    return build_customer(
        external_id=_id("Customer", body), email=body.get("email"), first_name=body.get("first_name"),
        last_name=body.get("last_name"), phone=body.get("phone"), city=address.get("city"),
        country=address.get("country_code"), opted_in=str(consent.get("state") or "").lower() == "subscribed",
        created_at=utc(body.get("created_at")))


def _line(body: dict[str, Any]) -> OrderLineRecord:
    price_set = body.get("price_set")
    unit = money(price_set)[0] if isinstance(price_set, dict) else cents(body.get("price") or "0")
    size, colour = size_and_colour_from_title(body.get("variant_title"))
    return OrderLineRecord(
        external_id=_id("LineItem", body), title=str(body.get("title") or body.get("name") or "")[:300],
        quantity=max(1, int(body.get("quantity") or 1)), unit_price_cents=unit,
        product_external_id=optional_gid("Product", body.get("product_id")),
        variant_external_id=optional_gid("ProductVariant", body.get("variant_id")), size=size, colour=colour)


def _delivery(fulfillments: list[dict[str, Any]]
              ) -> tuple[datetime | None, datetime | None, str | None, str | None, bool]:
    done = [f for f in fulfillments if str(f.get("status") or "").lower() not in FAILED_FULFILLMENTS]
    if not done:
        return None, None, None, None, False
    done.sort(key=lambda f: str(f.get("created_at") or ""))
    shipped_at = min((t for t in (utc(f.get("created_at")) for f in done) if t), default=None)
    all_delivered = all(str(f.get("shipment_status") or "").lower() == "delivered" for f in done)
    delivered_at = max((t for t in (utc(f.get("updated_at")) for f in done) if t), default=None) \
        if all_delivered else None
    last = done[-1]
    numbers = last.get("tracking_numbers") if isinstance(last.get("tracking_numbers"), list) else []
    tracking = last.get("tracking_number") or (numbers[0] if numbers else None)
    carrier = last.get("tracking_company")
    return (shipped_at, delivered_at, str(carrier) if carrier else None, str(tracking) if tracking else None,
            all_delivered)


def order_record(body: dict[str, Any]) -> OrderRecord:
    """An ``orders/*`` body -> a record, statuses mapped as for GraphQL. A body without
    ``line_items`` or totals (a trimmed subscription) is refused."""
    if not isinstance(body.get("line_items"), list) or ("total_price_set" not in body and "total_price" not in body):
        raise ValueError("orders webhook without line_items or totals: subscribe to the full payload")
    fulfillments = [f for f in body.get("fulfillments") or [] if isinstance(f, dict)]
    shipped_at, delivered_at, carrier, tracking, all_delivered = _delivery(fulfillments)
    total, currency = money(body.get("total_price_set"))
    if currency is None:
        total, currency = cents(body.get("total_price") or "0"), body.get("currency")
    subtotal = money(body["subtotal_price_set"])[0] if isinstance(body.get("subtotal_price_set"), dict) \
        else cents(body.get("subtotal_price") or "0")
    shipping = money(body.get("total_shipping_price_set"))[0]
    customer = customer_record(body["customer"]) if isinstance(body.get("customer"), dict) \
        and body["customer"].get("id") else None
    placed_at = utc(body.get("processed_at")) or utc(body.get("created_at"))
    if placed_at is None:
        raise ValueError(f"order {body.get('id')!r} has no creation time")
    fulfillment_status = str(body.get("fulfillment_status") or "").upper()
    shipping_lines = [s for s in body.get("shipping_lines") or [] if isinstance(s, dict)]
    return OrderRecord(
        external_id=_id("Order", body), number=str(body.get("name") or body["id"])[:32],
        email=str(body.get("email") or body.get("contact_email") or (customer.email if customer else "")).strip(),
        status=order_status(cancelled=bool(body.get("cancelled_at")), fulfillment_status=fulfillment_status,
                            financial_status=str(body.get("financial_status") or "").upper(),
                            all_delivered=all_delivered),
        placed_at=placed_at, total_cents=total, subtotal_cents=subtotal, shipping_cents=shipping,
        currency=str(currency or "USD").upper()[:3], customer=customer,
        shipping_address=address_record(body.get("shipping_address")),
        lines=tuple(_line(line) for line in body.get("line_items") or [] if isinstance(line, dict)),
        shipped_at=shipped_at, delivered_at=delivered_at, carrier=carrier, tracking_number=tracking,
        shipping_method=str(shipping_lines[0].get("title") or "standard")[:40] if shipping_lines else "standard",
        updated_at=utc(body.get("updated_at")))

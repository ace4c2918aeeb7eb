"""Admin GraphQL API nodes (as :mod:`shop.commerce.shopify.shopify_queries` asks for them) ->
the platform-neutral records of :mod:`shop.commerce.records`.

Every id is the node's gid. A product's price is its cheapest variant's; a variant
keeps its own price only when it differs. Stock is ``inventoryQuantity`` (all locations)
when the variant's inventory item is ``tracked``, else ``None`` ("available, quantity
unknown"); an oversold (negative) count is 0. Malformed nodes raise ``ValueError``,
``KeyError`` or ``TypeError``; the caller decides what to skip.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from shop.commerce.records import (
    AddressRecord,
    CustomerRecord,
    OrderLineRecord,
    OrderRecord,
    ProductRecord,
    VariantRecord,
)
from shop.commerce.shopify.shopify_ids import gid, optional_gid
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

FAILED_FULFILLMENTS = frozenset({"CANCELLED", "ERROR", "FAILURE"})


def _options(raw: object) -> list[tuple[str, str]]:
    if not isinstance(raw, list):
        return []
    return [(str(o.get("name") or ""), str(o.get("value") or "")) for o in raw if isinstance(o, dict)]


def _stock(quantity: object, tracked: object) -> int | None:
    if tracked is not True or isinstance(quantity, bool) or not isinstance(quantity, int):
        return None
    return max(0, quantity)


def variant_parts(node: dict[str, Any]) -> tuple[str, str, int, int | None, str | None, str | None, int | None]:
    """``(id, sku, price, compare_at, size, colour, stock)`` of a ``ProductVariant`` node."""
    size, colour = size_and_colour(_options(node.get("selectedOptions")))
    item = obj(node.get("inventoryItem"))
    return (gid("ProductVariant", node["id"]), str(node.get("sku") or "")[:80], cents(node["price"]),
            optional_cents(node.get("compareAtPrice")), size, colour,
            _stock(node.get("inventoryQuantity"), item.get("tracked")))


def build_product(*, external_id: str, handle: str, title: str, description: str, brand: str | None,
                  category: str | None, tag_list: tuple[str, ...], active: bool, image_url: str | None,
                  updated_at: datetime | None, currency: str,
                  variants: Sequence[tuple[str, str, int, int | None, str | None, str | None, int | None]]
                  ) -> ProductRecord:
    """The product record from its parts (shared by the GraphQL and webhook readers)."""
    cheapest = min(variants, key=lambda v: v[2]) if variants else None
    price = cheapest[2] if cheapest else 0
    compare_at = cheapest[3] if cheapest and cheapest[3] is not None and cheapest[3] > price else None
    records = tuple(VariantRecord(external_id=vid, sku=sku, price_cents=None if vprice == price else vprice,
                                  size=size, colour=colour, stock=stock)
                    for vid, sku, vprice, _, size, colour, stock in variants)
    return ProductRecord(external_id=external_id, handle=(handle or external_id.rsplit("/", 1)[-1])[:200],
                         title=(title or "").strip()[:300] or "Untitled product", price_cents=price,
                         currency=currency, description=description, brand=(brand or "").strip()[:120] or None,
                         category=(category or "").strip()[:120] or None, tags=tag_list,
                         compare_at_cents=compare_at, image_url=(image_url or None), active=active,
                         variants=records, updated_at=updated_at)


def product_record(node: dict[str, Any], *, currency: str, variants: Sequence[dict[str, Any]]) -> ProductRecord:
    """A ``Product`` node and all its variant nodes (every page) -> a record."""
    image = obj(node.get("featuredImage"))
    return build_product(
        external_id=gid("Product", node["id"]), handle=str(node.get("handle") or ""),
        title=str(node.get("title") or ""),
        description=text_from_html(node.get("descriptionHtml")), brand=node.get("vendor"),
        category=node.get("productType"), tag_list=tags(node.get("tags")),
        active=str(node.get("status") or "").upper() == "ACTIVE", image_url=image.get("url"),
        updated_at=utc(node.get("updatedAt")), currency=currency,
        variants=[variant_parts(v) for v in variants])


def build_customer(*, external_id: str, email: object, first_name: object, last_name: object, phone: object,
                   city: object, country: object, opted_in: bool, created_at: datetime | None) -> CustomerRecord:
    """The customer record from its raw fields (shared by the GraphQL and webhook readers):
    text cut to the columns' sizes; an empty phone, city or country is ``None``."""
    return CustomerRecord(
        external_id=external_id, email=str(email or "").strip()[:254],
        first_name=str(first_name or "")[:100], last_name=str(last_name or "")[:100],
        phone=str(phone)[:40] if phone else None, city=str(city)[:100] if city else None,
        country=str(country)[:2].upper() if country else None, marketing_opt_in=opted_in, created_at=created_at)


def customer_record(node: dict[str, Any]) -> CustomerRecord:
    """A ``Customer`` node -> a record (e-mail may be empty: phone-only customers)."""
    address = obj(node.get("defaultAddress"))
    consent = obj(node.get("emailMarketingConsent"))
    return build_customer(
        external_id=gid("Customer", node["id"]), email=node.get("email"), first_name=node.get("firstName"),
        last_name=node.get("lastName"), phone=node.get("phone"), city=address.get("city"),
        country=address.get("countryCodeV2"),
        opted_in=str(consent.get("marketingState") or "").upper() == "SUBSCRIBED",
        created_at=utc(node.get("createdAt")))


def address_record(node: object) -> AddressRecord | None:
    """A ``MailingAddress`` (GraphQL) or a webhook ``shipping_address`` -> a record."""
    if not isinstance(node, dict):
        return None
    first = node.get("firstName", node.get("first_name")) or ""
    last = node.get("lastName", node.get("last_name")) or ""
    name = str(node.get("name") or f"{first} {last}").strip()
    country = node.get("countryCodeV2", node.get("country_code")) or ""
    return AddressRecord(name=name[:200], line1=str(node.get("address1") or "")[:200],
                         line2=(str(node["address2"])[:200] if node.get("address2") else None),
                         city=str(node.get("city") or "")[:100], postcode=str(node.get("zip") or "")[:20],
                         country=str(country)[:2].upper())


def line_record(node: dict[str, Any]) -> OrderLineRecord:
    """A ``LineItem`` node -> a record; size and colour from the variant's named options,
    or guessed from the variant title when the variant is gone."""
    variant = obj(node.get("variant")) or None
    size, colour = size_and_colour(_options(variant.get("selectedOptions"))) if variant else (None, None)
    if size is None and colour is None:
        size, colour = size_and_colour_from_title(node.get("variantTitle"))
    product = obj(node.get("product")) or None
    unit, _ = money(node.get("originalUnitPriceSet"))
    return OrderLineRecord(
        external_id=gid("LineItem", node["id"]), title=str(node.get("title") or "")[:300],
        quantity=max(1, int(node.get("quantity") or 1)), unit_price_cents=unit,
        product_external_id=optional_gid("Product", product.get("id")) if product else None,
        variant_external_id=optional_gid("ProductVariant", variant.get("id")) if variant else None,
        size=size, colour=colour)


def _delivery(fulfillments: Sequence[dict[str, Any]], updated_at: datetime | None
              ) -> tuple[datetime | None, datetime | None, str | None, str | None, bool]:
    """``(shipped_at, delivered_at, carrier, tracking, all delivered)`` of the fulfillments that did not fail."""
    done = [f for f in fulfillments if str(f.get("status") or "").upper() not in FAILED_FULFILLMENTS]
    if not done:
        return None, None, None, None, False
    done.sort(key=lambda f: str(f.get("createdAt") or ""))
    shipped_at = min((t for t in (utc(f.get("inTransitAt")) or utc(f.get("createdAt")) for f in done) if t),
                     default=None)
    delivered = [bool(f.get("deliveredAt")) or str(f.get("displayStatus") or "").upper() == "DELIVERED"
                 for f in done]
    all_delivered = all(delivered)
    delivered_times = [t for t in (utc(f.get("deliveredAt")) for f in done) if t]
    delivered_at = (max(delivered_times) if len(delivered_times) == len(done) else updated_at) if all_delivered \
        else None
    carrier = tracking = None
    for fulfillment in reversed(done):
        info = fulfillment.get("trackingInfo")
        if isinstance(info, list) and info and isinstance(info[0], dict):
            carrier = (str(info[0].get("company")) if info[0].get("company") else None)
            tracking = (str(info[0].get("number")) if info[0].get("number") else None)
            break
    return shipped_at, delivered_at, carrier, tracking, all_delivered


def order_record(node: dict[str, Any], *, lines: Sequence[dict[str, Any]]) -> OrderRecord:
    """An ``Order`` node and all its line item nodes (every page) -> a record; its
    status as :mod:`shop.commerce.shopify.shopify_status` maps it."""
    updated_at = utc(node.get("updatedAt"))
    fulfillments = [f for f in node.get("fulfillments") or [] if isinstance(f, dict)]
    shipped_at, delivered_at, carrier, tracking, all_delivered = _delivery(fulfillments, updated_at)
    total, currency = money(node.get("totalPriceSet"))
    subtotal, _ = money(node.get("subtotalPriceSet"))
    shipping, _ = money(node.get("totalShippingPriceSet"))
    customer = customer_record(node["customer"]) if isinstance(node.get("customer"), dict) else None
    email = str(node.get("email") or (customer.email if customer else "") or "").strip()
    placed_at = utc(node.get("processedAt")) or utc(node.get("createdAt"))
    if placed_at is None:
        raise ValueError(f"order {node.get('id')!r} has no creation time")
    shipping_line = obj(node.get("shippingLine"))
    return OrderRecord(
        external_id=gid("Order", node["id"]), number=str(node.get("name") or node["id"])[:32], email=email,
        status=order_status(cancelled=bool(node.get("cancelledAt")),
                            fulfillment_status=node.get("displayFulfillmentStatus"),
                            financial_status=node.get("displayFinancialStatus"), all_delivered=all_delivered),
        placed_at=placed_at, total_cents=total, subtotal_cents=subtotal, shipping_cents=shipping,
        currency=(currency or str(node.get("currencyCode") or "USD")).upper()[:3], customer=customer,
        shipping_address=address_record(node.get("shippingAddress")),
        lines=tuple(line_record(line) for line in lines),
        shipped_at=shipped_at, delivered_at=delivered_at, carrier=carrier, tracking_number=tracking,
        shipping_method=str(shipping_line.get("title") or "standard")[:40], updated_at=updated_at)

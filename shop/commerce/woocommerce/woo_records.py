"""WooCommerce REST API v3 JSON -> the platform-neutral records of :mod:`shop.commerce.records`.

Shapes: https://developer.woocommerce.com/docs/apis/rest-api/v3/products/ (and
``product-variations/``, ``customers/``, ``orders/``); tracking from the Shipment
Tracking extension's order meta ``_wc_shipment_tracking_items``
(https://woocommerce.com/document/shipment-tracking/).

Order status, WooCommerce -> the shop's words:

| WooCommerce | shop | why |
|---|---|---|
| ``pending`` (pending payment) | pending | not paid yet |
| ``on-hold`` | pending | waiting for payment to be confirmed (bank transfer, cheque) |
| ``processing`` | processing | paid, being prepared; ``shipped`` once Shipment Tracking has a parcel |
| ``completed`` | shipped | fulfilled; ``delivered`` (at ``date_completed``) with ``completed_means_delivered`` |
| ``cancelled`` | cancelled | |
| ``refunded`` | cancelled | fully refunded: the order won't ship |
| ``failed`` | cancelled | payment failed or declined: the order won't ship unless paid again |
| ``shipped`` / ``delivered`` (extensions' statuses) | shipped / delivered | |
| any other extension status | processing | logged once per status |
| ``checkout-draft``, ``trash`` | not mirrored | drafts of the block checkout, deleted orders |

Stock: ``manage_stock`` true -> ``stock_quantity`` (negative counts as 0; on backorder
-> ``None``, still available); false -> ``None`` ("available, quantity unknown") unless
``stock_status`` is ``outofstock`` (0). A simple product becomes one variant whose
external id is the product's own id, so its stock has a home and order lines of it
point at it; variations keep their ids (WordPress post ids: never equal to a product's).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
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
from shop.commerce.woocommerce.woo_config import WooCommerceConfig
from shop.commerce.woocommerce.woo_values import (
    attribute_key,
    from_unix,
    gmt,
    html_to_text,
    meta_value,
    positive_int,
    text,
    to_minor,
)

log = logging.getLogger(__name__)

TRACKING_META = "_wc_shipment_tracking_items"
CANCELLABLE = frozenset({"pending", "processing", "on-hold"})
SKIPPED_ORDER_STATUSES = frozenset({"checkout-draft", "trash", "auto-draft", "draft"})
_STATUS = {"pending": "pending", "on-hold": "pending", "processing": "processing", "cancelled": "cancelled",
           "refunded": "cancelled", "failed": "cancelled", "shipped": "shipped", "delivered": "delivered"}
_VISIBLE = frozenset({"visible", "catalog", "search"})
_warned_statuses: set[str] = set()


class MalformedRecord(ValueError):
    """A WooCommerce object without what every object has (an id, a usable shape)."""


def _obj(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _list(value: Any) -> Sequence[Any]:
    return value if isinstance(value, list) else []


def _id(data: Mapping[str, Any], what: str) -> str:
    number = positive_int(data.get("id"))
    if number is None:
        raise MalformedRecord(f"{what} without a positive integer id: {str(data.get('id'))[:40]!r}")
    return str(number)


def stock_of(manage_stock: Any, quantity: Any, status: Any) -> int | None:
    """WooCommerce's stock fields as the mirror's stock (see the module docstring)."""
    if manage_stock is True or manage_stock == "parent":
        if status == "onbackorder":
            return None
        try:
            return max(0, int(float(quantity)))
        except (TypeError, ValueError):
            return None
    return 0 if status == "outofstock" else None


def _attribute_value(attributes: Any, names: Iterable[str]) -> str | None:
    wanted = set(names)
    for attribute in _list(attributes):
        attribute = _obj(attribute)
        if attribute_key(attribute.get("name")) in wanted or attribute_key(attribute.get("slug")) in wanted:
            option = text(attribute.get("option"), 40)
            if option:
                return option
            options = [text(o, 40) for o in _list(attribute.get("options")) if text(o, 40)]
            if len(options) == 1:
                return options[0]
    return None


def variant_record(data: Mapping[str, Any], *, config: WooCommerceConfig) -> VariantRecord:
    """One entry of ``GET /products/{id}/variations`` (or a variation's webhook payload)."""
    external_id = _id(data, "variation")
    return VariantRecord(
        external_id=external_id, sku=text(data.get("sku"), 80),
        price_cents=to_minor(data.get("price"), config.currency),
        size=_attribute_value(data.get("attributes"), config.size_attributes),
        colour=_attribute_value(data.get("attributes"), config.colour_attributes),
        stock=stock_of(data.get("manage_stock"), data.get("stock_quantity"), data.get("stock_status")))


def _brand(data: Mapping[str, Any], config: WooCommerceConfig) -> str | None:
    for brand in _list(data.get("brands")):
        name = text(_obj(brand).get("name"), 120)
        if name:
            return name
    attributes = [a for a in _list(data.get("attributes")) if len(_list(_obj(a).get("options"))) == 1]
    return _attribute_value(attributes, config.brand_attributes)


def _category(data: Mapping[str, Any]) -> str | None:
    for category in _list(data.get("categories")):
        category = _obj(category)
        if category.get("slug") != "uncategorized" and text(category.get("name"), 120):
            return text(category.get("name"), 120)
    return None


def _sale(data: Mapping[str, Any], price: int | None, currency: str) -> int | None:
    regular = to_minor(data.get("regular_price"), currency)
    if data.get("on_sale") and regular is not None and price is not None and regular > price:
        return regular
    return None


def product_record(data: Mapping[str, Any], *, config: WooCommerceConfig,
                   variations: Sequence[Mapping[str, Any]] | None = None) -> ProductRecord:
    """A product of ``GET /products`` with, for a variable product, its variations
    (``None``: not fetched, e.g. from a webhook; the mirror keeps the variants it has)."""
    external_id = _id(data, "product")
    currency = config.currency
    variants: tuple[VariantRecord, ...]
    if data.get("type") == "variable":
        variants = tuple(variant_record(v, config=config) for v in (variations or ())
                         if _obj(v).get("status", "publish") == "publish")
    else:
        variants = (VariantRecord(
            external_id=external_id, sku=text(data.get("sku"), 80), price_cents=None,
            size=_attribute_value(data.get("attributes"), config.size_attributes),
            colour=_attribute_value(data.get("attributes"), config.colour_attributes),
            stock=stock_of(data.get("manage_stock"), data.get("stock_quantity"), data.get("stock_status"))),)
    price = to_minor(data.get("price"), currency)
    if price is None:
        prices = [v.price_cents for v in variants if v.price_cents is not None]
        price = min(prices) if prices else to_minor(data.get("regular_price"), currency)
    description = html_to_text(data.get("description")) or html_to_text(data.get("short_description"))
    images = [_obj(i) for i in _list(data.get("images"))]
    image = text(images[0].get("src"), 500) if images else ""
    return ProductRecord(
        external_id=external_id, handle=text(data.get("slug"), 200) or f"product-{external_id}",
        title=text(data.get("name"), 300) or f"Product {external_id}", price_cents=max(0, price or 0),
        currency=currency, description=description, brand=_brand(data, config), category=_category(data),
        tags=tuple(t for t in (text(_obj(tag).get("name"), 60) for tag in _list(data.get("tags"))) if t),
        compare_at_cents=_sale(data, price, currency), image_url=image or None,
        active=data.get("status") == "publish" and data.get("catalog_visibility", "visible") in _VISIBLE,
        variants=variants, updated_at=gmt(data.get("date_modified_gmt")))


def customer_record(data: Mapping[str, Any]) -> CustomerRecord:
    """A customer of ``GET /customers``."""
    external_id = _id(data, "customer")
    billing, shipping = _obj(data.get("billing")), _obj(data.get("shipping"))
    return CustomerRecord(
        external_id=external_id, email=text(data.get("email"), 254) or text(billing.get("email"), 254),
        first_name=text(data.get("first_name"), 100) or text(billing.get("first_name"), 100),
        last_name=text(data.get("last_name"), 100) or text(billing.get("last_name"), 100),
        phone=text(billing.get("phone"), 40) or None,
        city=text(shipping.get("city"), 100) or text(billing.get("city"), 100) or None,
        country=(text(shipping.get("country"), 2) or text(billing.get("country"), 2)).upper() or None,
        created_at=gmt(data.get("date_created_gmt")))


def tracking(data: Mapping[str, Any]) -> tuple[str | None, str, datetime | None] | None:
    """``(carrier, tracking number, shipped at)`` of the order's latest Shipment Tracking
    parcel, or ``None`` when it has none."""
    items = meta_value(data.get("meta_data"), TRACKING_META)
    parcels = [_obj(i) for i in _list(items) if text(_obj(i).get("tracking_number"), 64)]
    if not parcels:
        return None
    latest = parcels[-1]
    carrier = text(latest.get("custom_tracking_provider"), 40) or text(latest.get("tracking_provider"), 40)
    return carrier or None, text(latest.get("tracking_number"), 64), from_unix(latest.get("date_shipped"))


def order_status(data: Mapping[str, Any], *, config: WooCommerceConfig) -> str:
    """The shop's word for a WooCommerce order's status (the module docstring's table)."""
    status = str(data.get("status") or "").lower()
    if status.startswith("wc-"):
        status = status[3:]
    if status == "completed":
        return "delivered" if config.completed_means_delivered else "shipped"
    if status == "processing" and tracking(data) is not None:
        return "shipped"
    if status in _STATUS:
        return _STATUS[status]
    if status not in _warned_statuses:
        _warned_statuses.add(status)
        log.warning("WooCommerce order status %r is not a core one: read as processing", status[:40])
    return "processing"


def is_cancellable(data: Mapping[str, Any]) -> bool:
    """Whether a shopper may still cancel or re-address the order: not paid-and-shipped."""
    return str(data.get("status") or "") in CANCELLABLE and tracking(data) is None


def _address(data: Mapping[str, Any]) -> AddressRecord | None:
    for part in ("shipping", "billing"):
        address = _obj(data.get(part))
        if text(address.get("address_1"), 200):
            name = " ".join(p for p in (text(address.get("first_name"), 100), text(address.get("last_name"), 100)) if p)
            company = text(address.get("company"), 100)
            return AddressRecord(
                name=name or company, line1=text(address.get("address_1"), 200),
                line2=text(address.get("address_2"), 200) or None, city=text(address.get("city"), 100),
                postcode=text(address.get("postcode"), 20), country=text(address.get("country"), 2).upper())
    return None


def _line(line: Mapping[str, Any], *, config: WooCommerceConfig) -> OrderLineRecord:
    external_id = _id(line, "order line")
    quantity = max(1, positive_int(line.get("quantity")) or 1)
    total = to_minor(line.get("total"), config.currency) or 0
    product_id, variation_id = positive_int(line.get("product_id")), positive_int(line.get("variation_id"))
    meta = [{"name": _obj(m).get("key"), "option": _obj(m).get("display_value") or _obj(m).get("value")}
            for m in _list(line.get("meta_data"))
            if isinstance(_obj(m).get("display_value") or _obj(m).get("value"), str)]
    return OrderLineRecord(
        external_id=external_id, title=text(line.get("name"), 300) or f"Item {external_id}", quantity=quantity,
        unit_price_cents=max(0, round(total / quantity)),
        product_external_id=str(product_id) if product_id else None,
        variant_external_id=str(variation_id or product_id) if product_id else None,
        size=_attribute_value(meta, config.size_attributes), colour=_attribute_value(meta, config.colour_attributes))


def order_record(data: Mapping[str, Any], *, config: WooCommerceConfig) -> OrderRecord | None:
    """An order of ``GET /orders``; ``None`` for checkout drafts and trashed orders."""
    external_id = _id(data, "order")
    if str(data.get("status") or "") in SKIPPED_ORDER_STATUSES:
        return None
    currency = text(data.get("currency"), 3).upper() or config.currency
    billing = _obj(data.get("billing"))
    email = text(billing.get("email"), 254)
    lines = tuple(_line(_obj(line), config=config) for line in _list(data.get("line_items")))
    customer_id = positive_int(data.get("customer_id"))
    customer = None
    if customer_id:
        customer = CustomerRecord(
            external_id=str(customer_id), email=email, first_name=text(billing.get("first_name"), 100),
            last_name=text(billing.get("last_name"), 100), phone=text(billing.get("phone"), 40) or None,
            city=text(billing.get("city"), 100) or None, country=text(billing.get("country"), 2).upper() or None)
    status = order_status(data, config=config)
    parcel = tracking(data)
    completed = gmt(data.get("date_completed_gmt"))
    shipped_at = parcel[2] if parcel and parcel[2] else (completed if status in ("shipped", "delivered") else None)
    shipping_lines = [_obj(s) for s in _list(data.get("shipping_lines"))]
    method = text(shipping_lines[0].get("method_title"), 40) if shipping_lines else ""
    placed = gmt(data.get("date_created_gmt"))
    if placed is None:
        raise MalformedRecord(f"order {external_id} without date_created_gmt")
    return OrderRecord(
        external_id=external_id, number=text(data.get("number"), 32) or external_id, email=email, status=status,
        placed_at=placed, total_cents=to_minor(data.get("total"), currency) or 0,
        subtotal_cents=sum(to_minor(_obj(line).get("total"), currency) or 0 for line in _list(data.get("line_items"))),
        shipping_cents=to_minor(data.get("shipping_total"), currency) or 0, currency=currency, customer=customer,
        shipping_address=_address(data), lines=lines, shipped_at=shipped_at,
        delivered_at=completed if status == "delivered" else None,
        carrier=parcel[0] if parcel else None, tracking_number=parcel[1] if parcel else None,
        shipping_method=method or "standard", updated_at=gmt(data.get("date_modified_gmt")))


def split_name(name: str) -> tuple[str, str]:
    """``"Mary Ann Smith"`` -> ``("Mary Ann", "Smith")``: WooCommerce keeps first and last names apart."""
    words = name.split()
    if len(words) < 2:
        return name.strip(), ""
    return " ".join(words[:-1]), words[-1]

"""Write a platform's records into the shop's own tables, keyed by
``(external_source, external_id)``, so the assistant reads one schema whatever the
backend. Every function is an idempotent upsert: applying the same record twice changes
nothing the second time.

A product's ``updated_at`` moves whenever its text, price, stock or status changes, which
is what the search index's incremental sync watches (``search_index_sync_s``). A new
order adds one ``purchase`` interaction per line, which the recommender trains on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shop.commerce.records import (
    CustomerRecord,
    OrderLineRecord,
    OrderRecord,
    ProductRecord,
    ReturnRecord,
    VariantRecord,
)
from shop.db.schema import (
    ORDER_STATUSES,
    RETURN_STATUSES,
    Brand,
    Category,
    Customer,
    Interaction,
    Order,
    OrderItem,
    OrderStatusEvent,
    Product,
    ProductVariant,
    Return,
)

_SLUG_RE = re.compile(r"[^a-z0-9]+")


def _slug(text: str, limit: int = 80) -> str:
    return _SLUG_RE.sub("-", text.lower()).strip("-")[:limit] or "item"


def _clip(text: str | None, limit: int) -> str | None:
    return None if text is None else text[:limit]


@dataclass
class MirrorChanges:
    """What a sync or a webhook changed, for logs, the sync report and the index."""

    products: set[int] = field(default_factory=set)
    orders: set[int] = field(default_factory=set)
    customers: set[int] = field(default_factory=set)
    returns: set[int] = field(default_factory=set)
    interactions: int = 0

    def merge(self, other: MirrorChanges) -> None:
        self.products |= other.products
        self.orders |= other.orders
        self.customers |= other.customers
        self.returns |= other.returns
        self.interactions += other.interactions


def _named_id(session: Session, model: type[Category] | type[Brand], name: str | None) -> int | None:
    """The id of the category or brand called ``name`` (by slug), created when missing."""
    if not name or not name.strip():
        return None
    slug = _slug(name)
    found = session.scalar(select(model.id).where(model.slug == slug))
    if found is not None:
        return found
    row = model(slug=slug, name=name.strip()[:120])
    session.add(row)
    session.flush()
    return row.id


def product_by_external_id(session: Session, *, source: str, external_id: str) -> Product | None:
    return session.scalar(select(Product).where(Product.external_source == source,
                                                Product.external_id == external_id))


def _unique_value(session: Session, column: object, wanted: str, fallback: str) -> str:
    """``wanted`` unless another row already uses it, then ``fallback``."""
    taken = session.scalar(select(column).where(column == wanted))  # type: ignore[call-overload]
    return fallback if taken is not None else wanted


def upsert_product(session: Session, *, source: str, record: ProductRecord, now: datetime) -> tuple[int, bool]:
    """Create or update the product ``record`` describes; returns ``(product id, changed)``."""
    product = product_by_external_id(session, source=source, external_id=record.external_id)
    own_key = f"{source}-{record.external_id}"
    values = {
        "title": record.title[:300],
        "description": record.description,
        "price_cents": max(0, record.price_cents),
        "compare_at_cents": record.compare_at_cents,
        "currency": record.currency[:3].upper(),
        "image_url": _clip(record.image_url, 500),
        "is_active": record.active,
        "category_id": _named_id(session, Category, record.category),
        "brand_id": _named_id(session, Brand, record.brand),
    }
    changed = False
    if product is None:
        handle = _unique_value(session, Product.handle, _slug(record.handle, 200), _slug(own_key, 200))
        product = Product(sku=own_key[:64], handle=handle, external_source=source, external_id=record.external_id,
                          attributes={"tags": list(record.tags)} if record.tags else {},
                          created_at=now, updated_at=now, **values)
        session.add(product)
        session.flush()
        changed = True
    else:
        attributes = {key: value for key, value in (product.attributes or {}).items() if key != "tags"}
        if record.tags:
            attributes["tags"] = list(record.tags)
        values["attributes"] = attributes
        for key, value in values.items():
            if getattr(product, key) != value:
                setattr(product, key, value)
                changed = True
    variants_changed = _upsert_variants(session, product=product, source=source, records=record.variants)
    if changed or variants_changed:
        product.updated_at = now
        session.flush()
    return product.id, changed or variants_changed


def _upsert_variants(session: Session, *, product: Product, source: str,
                     records: tuple[VariantRecord, ...]) -> bool:
    existing = {v.external_id: v for v in product.variants if v.external_id}
    changed = False
    for record in records:
        variant = existing.get(record.external_id)
        values = {"size": _clip(record.size, 40), "colour": _clip(record.colour, 40),
                  "price_cents": record.price_cents, "stock": record.stock}
        if variant is None:
            fallback = f"{source}-{record.external_id}"[:80]
            sku = _unique_value(session, ProductVariant.sku, (record.sku or fallback)[:80], fallback)
            session.add(ProductVariant(product_id=product.id, sku=sku, external_id=record.external_id, **values))
            changed = True
        else:
            for key, value in values.items():
                if getattr(variant, key) != value:
                    setattr(variant, key, value)
                    changed = True
    if changed:
        session.flush()
        session.expire(product, ["variants"])
    return changed


def deactivate_product(session: Session, *, source: str, external_id: str, now: datetime) -> int | None:
    """A product deleted on the platform stops being shown; its row stays for old orders."""
    product = product_by_external_id(session, source=source, external_id=external_id)
    if product is None or not product.is_active:
        return None
    product.is_active = False
    product.updated_at = now
    session.flush()
    return product.id


def set_variant_stock(session: Session, *, source: str, variant_external_id: str, stock: int | None,
                      now: datetime) -> int | None:
    """Set one variant's stock from an inventory webhook; returns its product id if it changed."""
    variant = session.scalar(
        select(ProductVariant).join(Product, Product.id == ProductVariant.product_id)
        .where(Product.external_source == source, ProductVariant.external_id == variant_external_id))
    if variant is None or variant.stock == stock:
        return None
    variant.stock = stock  # None: not tracked by the platform
    product = session.get(Product, variant.product_id)
    if product is not None:
        product.updated_at = now
    session.flush()
    return variant.product_id


def upsert_customer(session: Session, *, source: str, record: CustomerRecord, now: datetime) -> int:
    """Create or update a customer; an existing customer with the same e-mail and no
    platform id is adopted (it is the same person)."""
    email = record.email.strip().lower()
    customer = session.scalar(select(Customer).where(Customer.external_source == source,
                                                     Customer.external_id == record.external_id))
    if customer is None and email:
        customer = session.scalar(select(Customer).where(Customer.email == email,
                                                         Customer.external_id.is_(None)))
        if customer is not None:
            customer.external_source, customer.external_id = source, record.external_id
    values = {"email": email or f"{source}-{record.external_id}@customers.invalid",
              "first_name": record.first_name[:100], "last_name": record.last_name[:100],
              "phone": _clip(record.phone, 40), "city": _clip(record.city, 100),
              "country": (record.country or "")[:2].upper() or None,
              "marketing_opt_in": record.marketing_opt_in}
    if customer is None:
        if email and session.scalar(select(Customer.id).where(Customer.email == email)) is not None:
            # the address belongs to another row (another platform account): keep both apart
            values["email"] = f"{source}-{record.external_id}@customers.invalid"
        customer = Customer(external_source=source, external_id=record.external_id,
                            created_at=record.created_at or now, **values)
        session.add(customer)
    else:
        if email and email != customer.email and session.scalar(
                select(Customer.id).where(Customer.email == email, Customer.id != customer.id)) is not None:
            del values["email"]  # another row has that address: keep this account's own
        for key, value in values.items():
            setattr(customer, key, value)
    session.flush()
    return customer.id


def _guest_customer(session: Session, *, source: str, order: OrderRecord, now: datetime) -> int:
    """The order's customer; a guest checkout with the e-mail of a known customer is theirs."""
    email = order.email.strip().lower()
    if order.customer is None and email:
        existing = session.scalar(select(Customer.id).where(Customer.email == email))
        if existing is not None:
            return existing
    record = order.customer or CustomerRecord(external_id=f"guest-{email}", email=order.email)
    return upsert_customer(session, source=source, record=record, now=now)


def upsert_order(session: Session, *, source: str, record: OrderRecord, now: datetime) -> MirrorChanges:
    """Create or update an order, its customer, lines, tracking and status history. A
    first sight of an order adds a ``purchase`` interaction per line with a known product."""
    if record.status not in ORDER_STATUSES:
        raise ValueError(f"order {record.external_id}: status {record.status!r} is not one of {ORDER_STATUSES}")
    changes = MirrorChanges()
    customer_id = _guest_customer(session, source=source, order=record, now=now)
    changes.customers.add(customer_id)
    order = session.scalar(select(Order).where(Order.external_source == source,
                                               Order.external_id == record.external_id))
    address = record.shipping_address
    values = {
        "customer_id": customer_id, "currency": record.currency[:3].upper(),
        "subtotal_cents": record.subtotal_cents, "shipping_cents": record.shipping_cents,
        "total_cents": record.total_cents, "placed_at": record.placed_at,
        "shipped_at": record.shipped_at, "delivered_at": record.delivered_at,
        "shipping_method": record.shipping_method[:40], "carrier": _clip(record.carrier, 40),
        "tracking_number": _clip(record.tracking_number, 64),
        "ship_name": (address.name if address else "")[:200],
        "ship_line1": (address.line1 if address else "")[:200],
        "ship_line2": _clip(address.line2, 200) if address else None,
        "ship_city": (address.city if address else "")[:100],
        "ship_postcode": (address.postcode if address else "")[:20],
        "ship_country": (address.country if address else "")[:2].upper(),
    }
    new = order is None
    if order is not None and record.updated_at is not None:
        newest = session.scalar(select(func.max(OrderStatusEvent.at)).where(
            OrderStatusEvent.order_id == order.id, OrderStatusEvent.note == f"from {source}"))
        if newest is not None and record.updated_at < newest:
            return changes  # a late delivery of an older state: what we have is newer
    if order is None:
        number = _unique_value(session, Order.number, record.number.lstrip("#")[:32],
                               f"{source[:2]}{record.external_id}"[:32])
        order = Order(number=number, status=record.status, external_source=source,
                      external_id=record.external_id, **values)
        session.add(order)
        session.flush()
        session.add(OrderStatusEvent(order_id=order.id, status=record.status, at=record.updated_at or now,
                                     note=f"from {source}"))
    else:
        for key, value in values.items():
            setattr(order, key, value)
        if order.status != record.status:
            order.status = record.status
            session.add(OrderStatusEvent(order_id=order.id, status=record.status, at=record.updated_at or now,
                                         note=f"from {source}"))
    changes.orders.add(order.id)
    new_lines = _upsert_lines(session, source=source, order=order, lines=record.lines)
    if new and record.status != "cancelled":
        for item in new_lines:
            if item.product_id is not None:
                session.add(Interaction(customer_id=customer_id, session_id=f"{source}-order-{record.external_id}"[:64],
                                        product_id=item.product_id, kind="purchase", at=record.placed_at,
                                        source=source[:32]))
                changes.interactions += 1
    session.flush()
    return changes


def _upsert_lines(session: Session, *, source: str, order: Order,
                  lines: tuple[OrderLineRecord, ...]) -> list[OrderItem]:
    existing = {item.external_id: item for item in order.items if item.external_id}
    added: list[OrderItem] = []
    for line in lines:
        product_id = variant_id = None
        if line.product_external_id:
            product = product_by_external_id(session, source=source, external_id=line.product_external_id)
            product_id = product.id if product else None
        if line.variant_external_id and product_id is not None:
            variant_id = session.scalar(select(ProductVariant.id).where(
                ProductVariant.product_id == product_id, ProductVariant.external_id == line.variant_external_id))
        values = {"product_id": product_id, "variant_id": variant_id, "title": line.title[:300],
                  "size": _clip(line.size, 40), "colour": _clip(line.colour, 40),
                  "quantity": max(1, line.quantity), "unit_price_cents": max(0, line.unit_price_cents)}
        item = existing.get(line.external_id)
        if item is None:
            item = OrderItem(order_id=order.id, external_id=line.external_id, **values)
            session.add(item)
            added.append(item)
        else:
            for key, value in values.items():
                if value is None and key in ("size", "colour", "product_id", "variant_id"):
                    continue  # a webhook's line may know less than the sync did: keep what we have
                setattr(item, key, value)
    session.flush()
    session.expire(order, ["items"])
    return added


def upsert_return(session: Session, *, source: str, record: ReturnRecord, now: datetime) -> int | None:
    """Record a return the platform accepted; ``None`` when its order or line isn't mirrored."""
    if record.status not in RETURN_STATUSES:
        raise ValueError(f"return {record.external_id}: status {record.status!r} is not one of {RETURN_STATUSES}")
    order = session.scalar(select(Order).where(Order.external_source == source,
                                               Order.external_id == record.order_external_id))
    if order is None:
        return None
    item = session.scalar(select(OrderItem).where(OrderItem.order_id == order.id,
                                                  OrderItem.external_id == record.line_external_id))
    if item is None:
        return None
    ret = session.scalar(select(Return).where(Return.order_id == order.id, Return.external_id == record.external_id))
    if ret is None:
        ret = Return(rma_number=f"{source[:4].upper()}-{record.external_id}"[:32], order_id=order.id,
                     order_item_id=item.id, customer_id=order.customer_id, quantity=record.quantity,
                     reason="", status=record.status, refund_cents=record.refund_cents, requested_at=now,
                     external_id=record.external_id)
        session.add(ret)
    else:
        ret.status, ret.refund_cents = record.status, record.refund_cents
    session.flush()
    return ret.id

"""Platform-neutral records of what a commerce platform holds: products with variants,
customers, orders with lines and tracking, returns. Connectors translate their API's
shapes into these; :mod:`shop.commerce.mirror` writes them into the shop's tables.

Money is in minor units (cents) of ``currency``; times are naive UTC. Order status uses
the shop's own words (``pending``, ``processing``, ``shipped``, ``delivered``,
``cancelled``); each connector documents how it maps its platform's states.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class VariantRecord:
    external_id: str
    sku: str
    price_cents: int | None = None  # None: the product's price
    size: str | None = None
    colour: str | None = None
    stock: int | None = None  # None: not tracked by the platform ("available, quantity unknown")


@dataclass(frozen=True)
class ProductRecord:
    external_id: str
    handle: str
    title: str
    price_cents: int
    currency: str = "USD"
    description: str = ""
    brand: str | None = None
    category: str | None = None
    tags: tuple[str, ...] = ()
    compare_at_cents: int | None = None
    image_url: str | None = None
    active: bool = True
    variants: tuple[VariantRecord, ...] = ()
    updated_at: datetime | None = None


@dataclass(frozen=True)
class CustomerRecord:
    external_id: str
    email: str
    first_name: str = ""
    last_name: str = ""
    phone: str | None = None
    city: str | None = None
    country: str | None = None  # ISO 3166-1 alpha-2
    marketing_opt_in: bool = False
    created_at: datetime | None = None


@dataclass(frozen=True)
class AddressRecord:
    name: str
    line1: str
    city: str
    postcode: str
    country: str  # ISO 3166-1 alpha-2
    line2: str | None = None


@dataclass(frozen=True)
class OrderLineRecord:
    external_id: str
    title: str
    quantity: int
    unit_price_cents: int
    product_external_id: str | None = None
    variant_external_id: str | None = None
    size: str | None = None
    colour: str | None = None


@dataclass(frozen=True)
class OrderRecord:
    external_id: str
    number: str
    email: str
    status: str
    placed_at: datetime
    total_cents: int
    subtotal_cents: int
    shipping_cents: int = 0
    currency: str = "USD"
    customer: CustomerRecord | None = None
    shipping_address: AddressRecord | None = None
    lines: tuple[OrderLineRecord, ...] = ()
    shipped_at: datetime | None = None
    delivered_at: datetime | None = None
    carrier: str | None = None
    tracking_number: str | None = None
    shipping_method: str = "standard"
    updated_at: datetime | None = None


@dataclass(frozen=True)
class ReturnRecord:
    """A return or refund the platform accepted for one order line."""

    external_id: str
    order_external_id: str
    line_external_id: str
    quantity: int
    status: str  # the shop's words: requested, approved, received, refunded, rejected
    refund_cents: int = 0


@dataclass(frozen=True)
class WebhookEvent:
    """A verified webhook delivery: the platform, its topic in the shop's words
    (``product.updated``, ``product.deleted``, ``inventory.updated``, ``order.updated``,
    ``customer.updated``...), the delivery id for the replay guard, and the parsed
    records it carries."""

    source: str
    topic: str
    delivery_id: str
    products: tuple[ProductRecord, ...] = ()
    deleted_product_ids: tuple[str, ...] = ()
    inventory: tuple[tuple[str, int | None], ...] = ()  # (variant external id, stock)
    orders: tuple[OrderRecord, ...] = ()
    customers: tuple[CustomerRecord, ...] = ()
    raw_topic: str = ""
    extra: dict[str, str] = field(default_factory=dict)

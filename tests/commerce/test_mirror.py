"""The commerce mirror (shop.commerce.mirror / webhooks / sync) against a real database:
idempotent upserts keyed by the platform's ids, a webhook delivery applied once, and a
sync that resumes from its cursor. Connector-specific tests live beside this file."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timedelta

from sqlalchemy import func, select

from shop.commerce.mirror import upsert_order, upsert_product
from shop.commerce.records import (
    AddressRecord,
    CustomerRecord,
    OrderLineRecord,
    OrderRecord,
    ProductRecord,
    VariantRecord,
    WebhookEvent,
)
from shop.commerce.sync import sync_platform
from shop.commerce.webhooks import apply_webhook
from shop.db.engine import session_scope
from shop.db.schema import Customer, Interaction, Order, OrderStatusEvent, Product, ProductVariant, WebhookDelivery

NOW = datetime(2026, 12, 7, 12, 0)

TENT = ProductRecord(
    external_id="101", handle="trail-tent-2p", title="Trail Tent 2P", price_cents=19900, currency="usd",
    description="A light tent.", brand="Northway", category="Tents", tags=("camping",),
    variants=(VariantRecord(external_id="1011", sku="TT-2P-GRN", colour="Green", stock=4),
              VariantRecord(external_id="1012", sku="", colour="Grey", stock=0)),
    updated_at=NOW - timedelta(days=1))

ORDER = OrderRecord(
    external_id="9001", number="#1001", email="Dana@Example.com", status="processing",
    placed_at=NOW - timedelta(days=2), total_cents=20900, subtotal_cents=19900, shipping_cents=1000,
    customer=CustomerRecord(external_id="77", email="dana@example.com", first_name="Dana", last_name="Ng"),
    shipping_address=AddressRecord(name="Dana Ng", line1="1 Main St", city="Springfield", postcode="12345",
                                   country="us"),
    lines=(OrderLineRecord(external_id="L1", title="Trail Tent 2P", quantity=1, unit_price_cents=19900,
                           product_external_id="101", variant_external_id="1011", colour="Green"),),
    updated_at=NOW - timedelta(days=1))


def test_a_product_is_upserted_by_its_platform_id(db_url: str) -> None:
    with session_scope(db_url) as session:
        product_id, changed = upsert_product(session, source="shopify", record=TENT, now=NOW)
        assert changed
        again, changed_again = upsert_product(session, source="shopify", record=TENT, now=NOW)
        assert (again, changed_again) == (product_id, False)
        product = session.get(Product, product_id)
        assert product is not None
        assert (product.currency, product.category.name if product.category else None) == ("USD", "Tents")
        skus = sorted(v.sku for v in product.variants)
        assert skus == ["TT-2P-GRN", "shopify-1012"]  # a blank SKU gets a platform-scoped one
        cheaper = replace(TENT, price_cents=17900)
        _, changed = upsert_product(session, source="shopify", record=cheaper, now=NOW + timedelta(minutes=1))
        assert changed
        session.refresh(product)
        assert product.price_cents == 17900 and product.updated_at == NOW + timedelta(minutes=1)
        # the same id on another platform is another product
        other, _ = upsert_product(session, source="woocommerce", record=replace(TENT, variants=()), now=NOW)
        assert other != product_id
        assert session.scalar(select(func.count()).select_from(Product)) == 2


def test_a_new_order_mirrors_its_customer_lines_and_one_purchase_per_line(db_url: str) -> None:
    with session_scope(db_url) as session:
        upsert_product(session, source="shopify", record=TENT, now=NOW)
        changes = upsert_order(session, source="shopify", record=ORDER, now=NOW)
        assert changes.interactions == 1
        order = session.scalar(select(Order).where(Order.external_id == "9001"))
        assert order is not None and order.number == "1001" and order.customer.email == "dana@example.com"
        assert order.items[0].variant_id is not None and order.ship_country == "US"
        # an update later: shipped with tracking; no second purchase interaction
        shipped = replace(ORDER, status="shipped", carrier="UPS", tracking_number="1Z999",
                          shipped_at=NOW - timedelta(hours=5))
        changes = upsert_order(session, source="shopify", record=shipped, now=NOW)
        assert changes.interactions == 0
        session.refresh(order)
        assert (order.status, order.tracking_number) == ("shipped", "1Z999")
        assert session.scalar(select(func.count()).select_from(Interaction)) == 1
        statuses = session.scalars(select(OrderStatusEvent.status).where(OrderStatusEvent.order_id == order.id)
                                   .order_by(OrderStatusEvent.id)).all()
        assert statuses == ["processing", "shipped"]


def test_an_order_status_the_shop_does_not_know_is_refused(db_url: str) -> None:
    with session_scope(db_url) as session:
        try:
            upsert_order(session, source="shopify", record=replace(ORDER, status="on-hold"), now=NOW)
        except ValueError as exc:
            assert "on-hold" in str(exc)
        else:  # pragma: no cover
            raise AssertionError("an unknown status was mirrored")


def test_a_webhook_delivery_is_applied_once(db_url: str) -> None:
    event = WebhookEvent(source="shopify", topic="product.updated", delivery_id="d-1", products=(TENT,))
    with session_scope(db_url) as session:
        first = apply_webhook(session, event=event, now=NOW)
        assert not first.duplicate and len(first.changes.products) == 1
    stock_event = WebhookEvent(source="shopify", topic="inventory.updated", delivery_id="d-1",
                               inventory=(("1011", 0),))
    with session_scope(db_url) as session:
        replay = apply_webhook(session, event=stock_event, now=NOW)  # same delivery id: ignored
        assert replay.duplicate
        assert session.scalar(select(ProductVariant.stock).where(ProductVariant.external_id == "1011")) == 4
        assert session.scalar(select(func.count()).select_from(WebhookDelivery)) == 1
    with session_scope(db_url) as session:
        fresh = apply_webhook(session, event=replace(stock_event, delivery_id="d-2"), now=NOW)
        assert not fresh.duplicate
        assert session.scalar(select(ProductVariant.stock).where(ProductVariant.external_id == "1011")) == 0
    with session_scope(db_url) as session:
        gone = apply_webhook(session, event=WebhookEvent(source="shopify", topic="product.deleted",
                                                         delivery_id="d-3", deleted_product_ids=("101",)), now=NOW)
        assert gone.changes.products
        assert session.scalar(select(Product.is_active).where(Product.external_id == "101")) is False


class _Platform:
    name = "shopify"
    supports_returns = False

    def __init__(self) -> None:
        self.asked: list[datetime | None] = []

    def iter_products(self, *, updated_since: datetime | None = None) -> Iterator[ProductRecord]:
        self.asked.append(updated_since)
        yield TENT

    def iter_customers(self, *, updated_since: datetime | None = None) -> Iterator[CustomerRecord]:
        yield from ()

    def iter_orders(self, *, updated_since: datetime | None = None) -> Iterator[OrderRecord]:
        yield ORDER


def test_sync_mirrors_everything_then_asks_only_for_changes(db_url: str) -> None:
    platform = _Platform()
    with session_scope(db_url) as session:
        changes = sync_platform(session, platform=platform, now=NOW)  # type: ignore[arg-type]
        assert len(changes.products) == 1 and len(changes.orders) == 1
    with session_scope(db_url) as session:
        sync_platform(session, platform=platform, now=NOW)  # type: ignore[arg-type]
        assert session.scalar(select(func.count()).select_from(Customer)) == 1
    assert platform.asked == [None, TENT.updated_at]

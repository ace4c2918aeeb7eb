"""Tables of the commerce-platform mirror's own bookkeeping: webhook deliveries already
applied (the replay guard) and how far each sync got. The mirrored records themselves
live in the shop's tables (:mod:`shop.db.schema`), marked by ``external_source`` /
``external_id``."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from shop.db.base import Base


class WebhookDelivery(Base):
    """A commerce platform's webhook delivery already applied, by the platform's own
    delivery id (Shopify ``X-Shopify-Webhook-Id``, WooCommerce ``X-WC-Webhook-Delivery-ID``),
    so a redelivery or a replay changes nothing twice."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (UniqueConstraint("source", "delivery_id", name="uq_webhook_deliveries_source_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(20))
    delivery_id: Mapped[str] = mapped_column(String(100))
    topic: Mapped[str] = mapped_column(String(60))
    received_at: Mapped[datetime] = mapped_column(DateTime, index=True)


class SyncCursor(Base):
    """How far a full or incremental sync from a commerce platform got, per resource
    (``products``, ``customers``, ``orders``): the latest ``updated_at`` seen."""

    __tablename__ = "sync_cursors"
    __table_args__ = (UniqueConstraint("source", "resource", name="uq_sync_cursors_source_resource"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(20))
    resource: Mapped[str] = mapped_column(String(20))
    updated_since: Mapped[datetime | None] = mapped_column(DateTime)
    synced_at: Mapped[datetime] = mapped_column(DateTime)

"""Apply a verified webhook delivery to the mirror, once.

The delivery id is recorded in ``webhook_deliveries`` in the same transaction as the
changes, under a unique constraint, so a platform's redelivery or a replayed request
changes nothing twice (two concurrent copies: one wins, the other rolls back).
Signatures are checked before this, by the connector's ``parse_webhook``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shop.commerce.mirror import (
    MirrorChanges,
    deactivate_product,
    set_variant_stock,
    upsert_customer,
    upsert_order,
    upsert_product,
)
from shop.commerce.records import WebhookEvent
from shop.db.schema import WebhookDelivery


@dataclass(frozen=True)
class WebhookOutcome:
    duplicate: bool
    changes: MirrorChanges


def already_applied(session: Session, *, source: str, delivery_id: str) -> bool:
    return session.scalar(select(WebhookDelivery.id).where(
        WebhookDelivery.source == source, WebhookDelivery.delivery_id == delivery_id)) is not None


def apply_webhook(session: Session, *, event: WebhookEvent, now: datetime) -> WebhookOutcome:
    """Apply ``event`` unless its delivery id was applied before. The caller commits."""
    changes = MirrorChanges()
    if already_applied(session, source=event.source, delivery_id=event.delivery_id):
        return WebhookOutcome(True, changes)
    # the delivery row first, in the caller's transaction (no savepoint: on SQLite one taken
    # before any write would commit on its own); a concurrent copy that inserted it first
    # makes this one a duplicate, and nothing has been written yet to lose by rolling back
    try:
        session.add(WebhookDelivery(source=event.source, delivery_id=event.delivery_id[:100],
                                    topic=event.topic[:60], received_at=now))
        session.flush()
    except IntegrityError:
        session.rollback()
        return WebhookOutcome(True, changes)
    for product in event.products:
        product_id, changed = upsert_product(session, source=event.source, record=product, now=now)
        if changed:
            changes.products.add(product_id)
    for external_id in event.deleted_product_ids:
        gone = deactivate_product(session, source=event.source, external_id=external_id, now=now)
        if gone is not None:
            changes.products.add(gone)
    for variant_id, stock in event.inventory:
        touched = set_variant_stock(session, source=event.source, variant_external_id=variant_id, stock=stock, now=now)
        if touched is not None:
            changes.products.add(touched)
    for customer in event.customers:
        changes.customers.add(upsert_customer(session, source=event.source, record=customer, now=now))
    for order in event.orders:
        changes.merge(upsert_order(session, source=event.source, record=order, now=now))
    return WebhookOutcome(False, changes)

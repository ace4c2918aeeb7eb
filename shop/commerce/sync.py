"""A full (or incremental) copy of a platform's catalog, customers and orders into the
mirror, page by page with a progress bar, remembering per resource how far it got
(``sync_cursors``) so the next run asks only for what changed since."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from shop.commerce.mirror import MirrorChanges, upsert_customer, upsert_order, upsert_product
from shop.commerce.platform import CommercePlatform
from shop.db.schema import SyncCursor

T = TypeVar("T")
RESOURCES = ("products", "customers", "orders")

Progress = Callable[[Iterable[T], str], Iterator[T]]


def _no_progress(items: Iterable[T], label: str) -> Iterator[T]:
    yield from items


def _cursor(session: Session, *, source: str, resource: str) -> SyncCursor | None:
    return session.scalar(select(SyncCursor).where(SyncCursor.source == source, SyncCursor.resource == resource))


def sync_platform(session: Session, *, platform: CommercePlatform, now: datetime, full: bool = False,
                  batch: int = 200, progress: Progress = _no_progress) -> MirrorChanges:
    """Mirror everything changed since the last sync (everything when ``full`` or on the
    first run). Commits every ``batch`` records so a long first sync keeps its progress
    when interrupted; the cursor moves only when a resource finished."""
    changes = MirrorChanges()
    source = platform.name
    for resource in RESOURCES:
        cursor = _cursor(session, source=source, resource=resource)
        since = None if full or cursor is None else cursor.updated_since
        newest = since
        count = 0
        if resource == "products":
            for product in progress(platform.iter_products(updated_since=since), f"{source} products"):
                product_id, changed = upsert_product(session, source=source, record=product, now=now)
                if changed:
                    changes.products.add(product_id)
                newest = max(filter(None, (newest, product.updated_at)), default=None)
                count += 1
                if count % batch == 0:
                    session.commit()
        elif resource == "customers":
            for customer in progress(platform.iter_customers(updated_since=since), f"{source} customers"):
                changes.customers.add(upsert_customer(session, source=source, record=customer, now=now))
                newest = max(filter(None, (newest, customer.created_at)), default=None)
                count += 1
                if count % batch == 0:
                    session.commit()
        else:
            for order in progress(platform.iter_orders(updated_since=since), f"{source} orders"):
                changes.merge(upsert_order(session, source=source, record=order, now=now))
                newest = max(filter(None, (newest, order.updated_at)), default=None)
                count += 1
                if count % batch == 0:
                    session.commit()
        if cursor is None:
            cursor = SyncCursor(source=source, resource=resource, synced_at=now)
            session.add(cursor)
        cursor.updated_since, cursor.synced_at = newest, now
        session.commit()
    return changes

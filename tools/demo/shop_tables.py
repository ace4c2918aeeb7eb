"""The demo shop's tables in the database: which tables the generator fills, bulk inserts
with explicit ids, moving PostgreSQL sequences past them, counting and clearing."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Table, delete, func, insert, select, text
from sqlalchemy.orm import Session

from shop.db.schema import (
    Base,
    Brand,
    Category,
    Customer,
    Interaction,
    Offer,
    OfferCode,
    OfferEvent,
    Order,
    OrderItem,
    OrderStatusEvent,
    Product,
    ProductVariant,
    Return,
    Review,
)
from tools.demo.params import INSERT_CHUNK

# The order the generator writes its tables in (parents first).
WRITE_ORDER = ("categories", "brands", "products", "product_variants", "customers", "orders",
               "order_items", "order_status_events", "returns", "reviews", "interactions")

GENERATED_TABLES: tuple[type[Base], ...] = (
    Category, Brand, Product, ProductVariant, Customer, Order, OrderItem, OrderStatusEvent,
    Return, Review, Interaction,
)


def reset_sequences(session: Session, tables: Iterable[Table] | None = None) -> None:
    """Move PostgreSQL id sequences past the largest id in each table.

    Needed after inserts with explicit ids, so later ORM inserts don't collide. Does
    nothing on other databases. ``tables``: default every table of the schema with an
    integer ``id`` primary key.
    """
    if session.get_bind().dialect.name != "postgresql":
        return
    for table in tables if tables is not None else Base.metadata.sorted_tables:
        if "id" not in table.c or not table.c.id.primary_key:
            continue
        seq = session.scalar(text("SELECT pg_get_serial_sequence(:t, 'id')"), {"t": table.name})
        if not seq:
            continue
        session.execute(
            # the table name comes from our own schema, never from input
            text(f'SELECT setval(:seq, COALESCE((SELECT MAX(id) FROM "{table.name}"), 0) + 1, false)'),  # noqa: S608
            {"seq": seq},
        )


def shop_product_count(session: Session) -> int:
    """Number of products in the database (0 for a fresh shop)."""
    return int(session.scalar(select(func.count()).select_from(Product)) or 0)


def clear_shop(session: Session) -> None:
    """Delete every generated row (catalog, customers, orders, returns, reviews,
    interactions, offers and their codes and logged decisions), children first.
    Policies are kept (``seed_policies`` only adds missing ones)."""
    for model in (OfferEvent, OfferCode, Offer):
        session.execute(delete(model))
    for model in reversed(GENERATED_TABLES):
        session.execute(delete(model))
    session.flush()


def bulk_insert(session: Session, model: type[Base], rows: list[dict[str, Any]], *, progress: bool) -> None:
    """Insert ``rows`` (with their explicit ids) into ``model``'s table in chunks."""
    table: Table = model.__table__  # type: ignore[assignment]
    chunks = range(0, len(rows), INSERT_CHUNK)
    bar = None
    if progress and len(rows) > INSERT_CHUNK:
        from tqdm import tqdm

        bar = tqdm(total=len(rows), desc=f"insert {table.name}", unit="row", leave=False)
    for start in chunks:
        chunk = rows[start:start + INSERT_CHUNK]
        session.execute(insert(table), chunk)
        if bar is not None:
            bar.update(len(chunk))
    if bar is not None:
        bar.close()


def write_rows(session: Session, rows: dict[str, list[dict[str, Any]]], *, progress: bool) -> dict[str, int]:
    """Insert the generated ``rows`` (table name -> rows) in :data:`WRITE_ORDER`, move the
    sequences past them and return table name -> rows inserted."""
    models = {m.__tablename__: m for m in GENERATED_TABLES}
    counts: dict[str, int] = {}
    for name in WRITE_ORDER:
        table_rows = rows[name]
        bulk_insert(session, models[name], table_rows, progress=progress)
        counts[name] = len(table_rows)
    reset_sequences(session, [models[name].__table__ for name in WRITE_ORDER])  # type: ignore[misc]
    return counts

"""Alembic migrations produce exactly the ORM schema, upgrade is idempotent, and
downgrade/upgrade round-trips (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

from shop.db.engine import get_engine
from shop.db.migrate import downgrade, upgrade
from shop.db.schema import Base


# SQLite can't reflect expression indexes, so autogenerate skips them there (with these
# warnings); test_search_indexes_exist checks them on every dialect instead.
@pytest.mark.filterwarnings("ignore:.*expression-based index")
def test_migrations_match_orm_schema(db_url: str) -> None:
    with get_engine(db_url).connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


def test_upgrade_is_idempotent_and_downgrade_round_trips(db_url: str) -> None:
    upgrade(db_url)
    tables = set(inspect(get_engine(db_url)).get_table_names())
    assert {"products", "product_variants", "orders", "order_items", "returns", "interactions", "policies"} <= tables
    downgrade(db_url)
    assert set(inspect(get_engine(db_url)).get_table_names()) <= {"alembic_version"}
    upgrade(db_url)
    assert set(inspect(get_engine(db_url)).get_table_names()) == tables


def test_search_indexes_exist(db_url: str) -> None:
    wanted = {"ix_product_variants_size_in_stock", "ix_product_variants_colour_in_stock"}
    with get_engine(db_url).connect() as conn:
        if conn.dialect.name == "sqlite":
            names = set(conn.scalars(text("SELECT name FROM sqlite_master WHERE type = 'index'")))
        else:
            names = set(conn.scalars(text("SELECT indexname FROM pg_indexes WHERE tablename = 'product_variants'")))
    assert wanted <= names

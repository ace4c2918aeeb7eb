"""Alembic migrations produce exactly the ORM schema, upgrade is idempotent, and
downgrade/upgrade round-trips (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import datetime

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError

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


def test_offer_code_places_number_codes_issued_before_them(db_url: str) -> None:
    """0006 numbers the codes already issued per offer and customer (duplicates the old
    race made keep distinct places) and from then on refuses a second code in a place."""
    downgrade(db_url, "0005")
    at = {"at": datetime(2026, 12, 1, 12, 0, 0)}
    with get_engine(db_url).begin() as conn:
        conn.execute(text("INSERT INTO customers (id, email, first_name, last_name, marketing_opt_in, created_at) "
                          "VALUES (1, 'a@example.com', 'A', 'B', true, :at)"), at)
        conn.execute(text("INSERT INTO offers (id, key, name, kind, value, min_items, category_slugs, product_ids, "
                          "min_margin_pct, budget_cents, spent_cents, per_customer_limit, starts_at, ends_at, active) "
                          "VALUES (1, 'o', 'O', 'amount_off', 500, 1, '[]', '[]', 0, 10000, 0, 1, :at, :at, true)"), at)
        for code in ("RDG-AAAA-AAAA", "RDG-BBBB-BBBB"):
            conn.execute(text("INSERT INTO offer_codes (code, offer_id, customer_id, issued_at, expires_at) "
                              "VALUES (:code, 1, 1, :at, :at)"), {"code": code, **at})
    upgrade(db_url)
    with get_engine(db_url).connect() as conn:
        assert conn.execute(text("SELECT code, slot FROM offer_codes ORDER BY id")).all() == [
            ("RDG-AAAA-AAAA", 1), ("RDG-BBBB-BBBB", 2)]
    with pytest.raises(IntegrityError), get_engine(db_url).begin() as conn:
        conn.execute(text("INSERT INTO offer_codes (code, offer_id, customer_id, slot, issued_at, expires_at) "
                          "VALUES ('RDG-CCCC-CCCC', 1, 1, 2, :at, :at)"), at)

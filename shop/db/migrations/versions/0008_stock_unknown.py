"""stock unknown: product_variants.stock may be NULL ("available, quantity unknown"), and
the partial in-stock indexes include those variants

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 06:00:00
"""

from __future__ import annotations

import re

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

OLD_IN_STOCK = "stock > 0"
NEW_IN_STOCK = "stock IS NULL OR stock > 0"  # ProductVariant.in_stock in shop/db/schema.py
_STOCK_NOT_NULL = re.compile(r'(?<![\w"])("?stock"?\s+INTEGER)\s+NOT NULL', re.IGNORECASE)


def _indexes(where: str) -> None:
    for column in ("size", "colour"):
        op.create_index(
            f"ix_product_variants_{column}_in_stock", "product_variants",
            [sa.text(f"lower({column})"), "product_id"],
            sqlite_where=sa.text(where), postgresql_where=sa.text(where),
        )


def _drop_indexes() -> None:
    for column in ("size", "colour"):
        op.drop_index(f"ix_product_variants_{column}_in_stock", table_name="product_variants")


def _sqlite_stock_nullable(nullable: bool) -> None:
    """Change the NOT NULL of product_variants.stock in SQLite's stored table definition.

    SQLite can't ALTER a column, and the rebuild Alembic's batch mode does (copy, DROP,
    rename) would, with foreign keys on, delete the cart lines that reference variants
    (ON DELETE CASCADE) and refuse because of order lines. Removing or adding a NOT NULL
    does not change how rows are stored, so this uses the procedure SQLite documents for
    such changes (https://www.sqlite.org/lang_altertable.html, "making other kinds of
    table schema changes"): edit the CREATE TABLE text with writable_schema, bump the
    schema version, check integrity, all inside the migration's transaction.
    """
    bind = op.get_bind()
    sql = bind.execute(sa.text("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'product_variants'")
                       ).scalar_one()
    if nullable:
        new_sql, n = _STOCK_NOT_NULL.subn(r"\1", sql)
    else:
        new_sql, n = re.subn(r'(?<![\w"])("?stock"?\s+INTEGER)(?!\s+NOT NULL)', r"\1 NOT NULL", sql, count=1,
                             flags=re.IGNORECASE)
    if n != 1:
        raise RuntimeError(f"unexpected product_variants definition, stock column not found once: {sql}")
    version = int(bind.execute(sa.text("PRAGMA schema_version")).scalar_one())
    bind.execute(sa.text("PRAGMA writable_schema = ON"))
    bind.execute(sa.text("UPDATE sqlite_master SET sql = :sql WHERE type = 'table' AND name = 'product_variants'"),
                 {"sql": new_sql})
    bind.execute(sa.text(f"PRAGMA schema_version = {version + 1}"))
    bind.execute(sa.text("PRAGMA writable_schema = OFF"))
    problems = [row[0] for row in bind.execute(sa.text("PRAGMA integrity_check"))]
    if problems != ["ok"]:
        raise RuntimeError(f"integrity check failed after changing product_variants.stock: {problems[:5]}")


def upgrade() -> None:
    _drop_indexes()
    if op.get_bind().dialect.name == "sqlite":
        _sqlite_stock_nullable(True)
    else:
        op.alter_column("product_variants", "stock", existing_type=sa.Integer(), nullable=True)
    _indexes(NEW_IN_STOCK)


def downgrade() -> None:
    # "quantity unknown" has no place in the old schema: such variants become stock 0 (sold out)
    op.execute("UPDATE product_variants SET stock = 0 WHERE stock IS NULL")
    _drop_indexes()
    if op.get_bind().dialect.name == "sqlite":
        _sqlite_stock_nullable(False)
    else:
        op.alter_column("product_variants", "stock", existing_type=sa.Integer(), nullable=False)
    _indexes(OLD_IN_STOCK)

"""case-insensitive in-stock size and colour indexes for search filters

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24 14:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for column in ("size", "colour"):
        op.create_index(
            f"ix_product_variants_{column}_in_stock", "product_variants",
            [sa.text(f"lower({column})"), "product_id"],
            sqlite_where=sa.text("stock > 0"), postgresql_where=sa.text("stock > 0"),
        )


def downgrade() -> None:
    for column in ("size", "colour"):
        op.drop_index(f"ix_product_variants_{column}_in_stock", table_name="product_variants")

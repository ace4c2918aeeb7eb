"""commerce platforms: external ids on products, variants, customers, orders, order lines and returns;
webhook deliveries (replay guard) and sync cursors

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07 04:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_SOURCED = ("products", "customers", "orders")
_EXTERNAL_ONLY = ("product_variants", "order_items", "returns")


def upgrade() -> None:
    # plain ADD COLUMN and unique indexes, no table rebuild: SQLite's batch mode would
    # drop the partial in-stock indexes of product_variants
    for table in _SOURCED:
        op.add_column(table, sa.Column("external_source", sa.String(length=20), nullable=True))
        op.add_column(table, sa.Column("external_id", sa.String(length=64), nullable=True))
        op.create_index(f"uq_{table}_external", table, ["external_source", "external_id"], unique=True)
    for table in _EXTERNAL_ONLY:
        op.add_column(table, sa.Column("external_id", sa.String(length=64), nullable=True))
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("delivery_id", sa.String(length=100), nullable=False),
        sa.Column("topic", sa.String(length=60), nullable=False),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_deliveries")),
        sa.UniqueConstraint("source", "delivery_id", name="uq_webhook_deliveries_source_id"),
    )
    with op.batch_alter_table("webhook_deliveries", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_webhook_deliveries_received_at"), ["received_at"], unique=False)
    op.create_table(
        "sync_cursors",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("resource", sa.String(length=20), nullable=False),
        sa.Column("updated_since", sa.DateTime(), nullable=True),
        sa.Column("synced_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sync_cursors")),
        sa.UniqueConstraint("source", "resource", name="uq_sync_cursors_source_resource"),
    )


def downgrade() -> None:
    op.drop_table("sync_cursors")
    with op.batch_alter_table("webhook_deliveries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_webhook_deliveries_received_at"))
    op.drop_table("webhook_deliveries")
    for table in _EXTERNAL_ONLY:
        op.drop_column(table, "external_id")
    for table in _SOURCED:
        op.drop_index(f"uq_{table}_external", table_name=table)
        op.drop_column(table, "external_id")
        op.drop_column(table, "external_source")

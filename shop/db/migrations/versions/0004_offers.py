"""offers, issued codes and logged offer decisions; product cost for margins

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24 21:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.add_column(sa.Column("cost_cents", sa.Integer(), nullable=True))
    op.create_table(
        "offers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.Column("min_items", sa.Integer(), nullable=False),
        sa.Column("category_slugs", sa.JSON(), nullable=False),
        sa.Column("product_ids", sa.JSON(), nullable=False),
        sa.Column("min_margin_pct", sa.Integer(), nullable=False),
        sa.Column("budget_cents", sa.Integer(), nullable=False),
        sa.Column("spent_cents", sa.Integer(), nullable=False),
        sa.Column("per_customer_limit", sa.Integer(), nullable=False),
        sa.Column("starts_at", sa.DateTime(), nullable=False),
        sa.Column("ends_at", sa.DateTime(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.CheckConstraint("kind IN ('percent_off','amount_off','free_shipping','bundle')",
                           name=op.f("ck_offers_kind_known")),
        sa.CheckConstraint("spent_cents <= budget_cents", name=op.f("ck_offers_within_budget")),
        sa.CheckConstraint("value >= 0", name=op.f("ck_offers_value_non_negative")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_offers")),
        sa.UniqueConstraint("key", name=op.f("uq_offers_key")),
    )
    op.create_table(
        "offer_codes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("offer_id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("issued_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("redeemed_at", sa.DateTime(), nullable=True),
        sa.Column("order_ref", sa.String(length=64), nullable=True),
        sa.Column("discount_cents", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"], name=op.f("fk_offer_codes_customer_id_customers")),
        sa.ForeignKeyConstraint(["offer_id"], ["offers.id"], name=op.f("fk_offer_codes_offer_id_offers")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_offer_codes")),
        sa.UniqueConstraint("code", name=op.f("uq_offer_codes_code")),
    )
    with op.batch_alter_table("offer_codes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_offer_codes_customer_id"), ["customer_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_offer_codes_offer_id"), ["offer_id"], unique=False)
    op.create_table(
        "offer_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("offer_id", sa.Integer(), nullable=True),
        sa.Column("arm", sa.String(length=64), nullable=False),
        sa.Column("policy", sa.String(length=32), nullable=False),
        sa.Column("shown_at", sa.DateTime(), nullable=False),
        sa.Column("code_id", sa.Integer(), nullable=True),
        sa.Column("converted", sa.Boolean(), nullable=True),
        sa.Column("redeemed", sa.Boolean(), nullable=True),
        sa.Column("revenue_cents", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["code_id"], ["offer_codes.id"], name=op.f("fk_offer_events_code_id_offer_codes")),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"], name=op.f("fk_offer_events_customer_id_customers")),
        sa.ForeignKeyConstraint(["offer_id"], ["offers.id"], name=op.f("fk_offer_events_offer_id_offers")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_offer_events")),
    )
    with op.batch_alter_table("offer_events", schema=None) as batch_op:
        batch_op.create_index("ix_offer_events_customer_at", ["customer_id", "shown_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_offer_events_offer_id"), ["offer_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("offer_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_offer_events_offer_id"))
        batch_op.drop_index("ix_offer_events_customer_at")
    op.drop_table("offer_events")
    with op.batch_alter_table("offer_codes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_offer_codes_offer_id"))
        batch_op.drop_index(batch_op.f("ix_offer_codes_customer_id"))
    op.drop_table("offer_codes")
    op.drop_table("offers")
    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.drop_column("cost_cents")

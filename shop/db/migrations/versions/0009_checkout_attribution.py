"""checkout attribution: recommendation impressions, and which conversation, recommendation
and offer led to each checkout order (shop/db/attribution_tables.py)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-08 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # new tables only: no existing table is altered (SQLite's batch mode would drop the
    # partial in-stock indexes of product_variants and cascade deletes)
    op.create_table(
        "recommendation_impressions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.String(length=32), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("session_id", sa.String(length=64), nullable=True),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("how", sa.String(length=16), nullable=False),
        sa.Column("model_kind", sa.String(length=16), nullable=True),
        sa.Column("model_version", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"], ondelete="SET NULL",
                                name=op.f("fk_recommendation_impressions_customer_id_customers")),
        sa.ForeignKeyConstraint(["product_id"], ["products.id"], ondelete="CASCADE",
                                name=op.f("fk_recommendation_impressions_product_id_products")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recommendation_impressions")),
    )
    op.create_index(op.f("ix_recommendation_impressions_request_id"), "recommendation_impressions", ["request_id"])
    op.create_index(op.f("ix_recommendation_impressions_at"), "recommendation_impressions", ["at"])
    op.create_index("ix_recommendation_impressions_session_product", "recommendation_impressions",
                    ["session_id", "product_id", "at"])
    op.create_index("ix_recommendation_impressions_customer_product", "recommendation_impressions",
                    ["customer_id", "product_id", "at"])

    op.create_table(
        "order_attributions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=64), nullable=False),
        sa.Column("conversation_id", sa.String(length=64), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("offer_id", sa.Integer(), nullable=True),
        sa.Column("offer_code_id", sa.Integer(), nullable=True),
        sa.Column("offer_event_id", sa.Integer(), nullable=True),
        sa.Column("discount_cents", sa.Integer(), nullable=False),
        sa.Column("placed_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], ondelete="CASCADE",
                                name=op.f("fk_order_attributions_order_id_orders")),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"],
                                name=op.f("fk_order_attributions_customer_id_customers")),
        sa.ForeignKeyConstraint(["offer_id"], ["offers.id"], name=op.f("fk_order_attributions_offer_id_offers")),
        sa.ForeignKeyConstraint(["offer_code_id"], ["offer_codes.id"],
                                name=op.f("fk_order_attributions_offer_code_id_offer_codes")),
        sa.ForeignKeyConstraint(["offer_event_id"], ["offer_events.id"],
                                name=op.f("fk_order_attributions_offer_event_id_offer_events")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_order_attributions")),
        sa.UniqueConstraint("order_id", name=op.f("uq_order_attributions_order_id")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_order_attributions_idempotency_key")),
    )
    op.create_index(op.f("ix_order_attributions_conversation_id"), "order_attributions", ["conversation_id"])
    op.create_index(op.f("ix_order_attributions_customer_id"), "order_attributions", ["customer_id"])
    op.create_index(op.f("ix_order_attributions_offer_id"), "order_attributions", ["offer_id"])
    op.create_index(op.f("ix_order_attributions_placed_at"), "order_attributions", ["placed_at"])

    op.create_table(
        "order_line_attributions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("order_item_id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=True),
        sa.Column("impression_id", sa.Integer(), nullable=True),
        sa.Column("interaction_id", sa.Integer(), nullable=True),
        sa.Column("revenue_cents", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], ondelete="CASCADE",
                                name=op.f("fk_order_line_attributions_order_id_orders")),
        sa.ForeignKeyConstraint(["order_item_id"], ["order_items.id"], ondelete="CASCADE",
                                name=op.f("fk_order_line_attributions_order_item_id_order_items")),
        sa.ForeignKeyConstraint(["product_id"], ["products.id"], ondelete="SET NULL",
                                name=op.f("fk_order_line_attributions_product_id_products")),
        sa.ForeignKeyConstraint(["impression_id"], ["recommendation_impressions.id"], ondelete="SET NULL",
                                name="fk_order_line_attributions_impression_id"),
        sa.ForeignKeyConstraint(["interaction_id"], ["interactions.id"], ondelete="SET NULL",
                                name=op.f("fk_order_line_attributions_interaction_id_interactions")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_order_line_attributions")),
        sa.UniqueConstraint("order_item_id", name=op.f("uq_order_line_attributions_order_item_id")),
    )
    op.create_index(op.f("ix_order_line_attributions_order_id"), "order_line_attributions", ["order_id"])
    op.create_index(op.f("ix_order_line_attributions_impression_id"), "order_line_attributions", ["impression_id"])


def downgrade() -> None:
    op.drop_table("order_line_attributions")
    op.drop_table("order_attributions")
    op.drop_table("recommendation_impressions")

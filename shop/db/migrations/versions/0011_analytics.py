"""analytics: conversation events stored once, per-conversation rollups, shopper turns and
the tracker-store reader's cursor (shop/db/analytics_tables.py)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-09 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # new tables only: no existing table is altered
    op.create_table(
        "analytics_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_key", sa.String(length=64), nullable=False),
        sa.Column("sender_id", sa.String(length=255), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("intent", sa.String(length=128), nullable=True),
        sa.Column("action", sa.String(length=128), nullable=True),
        sa.Column("channel", sa.String(length=64), nullable=True),
        sa.Column("message_id", sa.String(length=64), nullable=True),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_analytics_events")),
        sa.UniqueConstraint("event_key", name=op.f("uq_analytics_events_event_key")),
    )
    op.create_index("ix_analytics_events_sender_at", "analytics_events", ["sender_id", "at"])

    op.create_table(
        "analytics_conversations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.String(length=300), nullable=False),
        sa.Column("sender_id", sa.String(length=255), nullable=False),
        sa.Column("session_no", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=64), nullable=True),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("last_event_at", sa.DateTime(), nullable=False),
        sa.Column("until_at", sa.DateTime(), nullable=True),
        sa.Column("turns", sa.Integer(), nullable=False),
        sa.Column("bot_messages", sa.Integer(), nullable=False),
        sa.Column("fallback_turns", sa.Integer(), nullable=False),
        sa.Column("unresolved_fallback", sa.Boolean(), nullable=False),
        sa.Column("searches", sa.Integer(), nullable=False),
        sa.Column("zero_result_searches", sa.Integer(), nullable=False),
        sa.Column("llm_answers", sa.Integer(), nullable=False),
        sa.Column("template_answers", sa.Integer(), nullable=False),
        sa.Column("first_message", sa.String(length=500), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_analytics_conversations")),
        sa.UniqueConstraint("conversation_id", name=op.f("uq_analytics_conversations_conversation_id")),
    )
    op.create_index(op.f("ix_analytics_conversations_channel"), "analytics_conversations", ["channel"])
    op.create_index(op.f("ix_analytics_conversations_started_at"), "analytics_conversations", ["started_at"])
    op.create_index("ix_analytics_conversations_sender_started", "analytics_conversations",
                    ["sender_id", "started_at"])

    op.create_table(
        "analytics_turns",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_pk", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("intent", sa.String(length=128), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("button", sa.Boolean(), nullable=False),
        sa.Column("fell_back", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["conversation_pk"], ["analytics_conversations.id"], ondelete="CASCADE",
                                name=op.f("fk_analytics_turns_conversation_pk_analytics_conversations")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_analytics_turns")),
    )
    op.create_index(op.f("ix_analytics_turns_conversation_pk"), "analytics_turns", ["conversation_pk"])

    op.create_table(
        "analytics_cursors",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("last_id", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_analytics_cursors")),
        sa.UniqueConstraint("source", name=op.f("uq_analytics_cursors_source")),
    )


def downgrade() -> None:
    op.drop_table("analytics_cursors")
    op.drop_index(op.f("ix_analytics_turns_conversation_pk"), table_name="analytics_turns")
    op.drop_table("analytics_turns")
    op.drop_index("ix_analytics_conversations_sender_started", table_name="analytics_conversations")
    op.drop_index(op.f("ix_analytics_conversations_started_at"), table_name="analytics_conversations")
    op.drop_index(op.f("ix_analytics_conversations_channel"), table_name="analytics_conversations")
    op.drop_table("analytics_conversations")
    op.drop_index("ix_analytics_events_sender_at", table_name="analytics_events")
    op.drop_table("analytics_events")

"""csat and ticket replies: csat_ratings, ticket_replies, and tickets get assigned_to,
closed_at, closed_by (shop/db/feedback_tables.py)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-08 12:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "csat_ratings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation", sa.String(length=128), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("trigger", sa.String(length=16), nullable=False),
        sa.Column("trigger_key", sa.String(length=64), nullable=False),
        sa.Column("handoff_id", sa.Integer(), nullable=True),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("score BETWEEN 1 AND 5", name=op.f("ck_csat_ratings_score_range")),
        sa.CheckConstraint("trigger IN ('end_of_chat','handoff')", name=op.f("ck_csat_ratings_trigger_known")),
        sa.ForeignKeyConstraint(["handoff_id"], ["handoffs.id"], name=op.f("fk_csat_ratings_handoff_id_handoffs")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_csat_ratings")),
        sa.UniqueConstraint("conversation", "trigger_key", name="uq_csat_ratings_conversation_trigger"),
    )
    op.create_index(op.f("ix_csat_ratings_handoff_id"), "csat_ratings", ["handoff_id"], unique=False)
    op.create_index(op.f("ix_csat_ratings_at"), "csat_ratings", ["at"], unique=False)

    # tickets is referenced by no other table and has no partial index, so SQLite's
    # batch mode (copy, drop, rename) is safe for it; PostgreSQL gets plain ALTERs
    with op.batch_alter_table("tickets") as batch:
        batch.add_column(sa.Column("assigned_to", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("closed_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("closed_by", sa.Integer(), nullable=True))
        batch.create_foreign_key(op.f("fk_tickets_assigned_to_staff_users"), "staff_users", ["assigned_to"], ["id"])
        batch.create_foreign_key(op.f("fk_tickets_closed_by_staff_users"), "staff_users", ["closed_by"], ["id"])

    op.create_table(
        "ticket_replies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("staff_user_id", sa.Integer(), nullable=True),
        sa.Column("to_email", sa.String(length=254), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("error", sa.String(length=300), nullable=True),
        sa.Column("message_id", sa.String(length=200), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("sent_at", sa.DateTime(), nullable=True),
        sa.CheckConstraint("status IN ('sending','sent','failed')", name=op.f("ck_ticket_replies_status_known")),
        sa.ForeignKeyConstraint(["staff_user_id"], ["staff_users.id"],
                                name=op.f("fk_ticket_replies_staff_user_id_staff_users")),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"], name=op.f("fk_ticket_replies_ticket_id_tickets")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_replies")),
    )
    op.create_index(op.f("ix_ticket_replies_ticket_id"), "ticket_replies", ["ticket_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_ticket_replies_ticket_id"), table_name="ticket_replies")
    op.drop_table("ticket_replies")
    with op.batch_alter_table("tickets") as batch:
        batch.drop_constraint(op.f("fk_tickets_closed_by_staff_users"), type_="foreignkey")
        batch.drop_constraint(op.f("fk_tickets_assigned_to_staff_users"), type_="foreignkey")
        batch.drop_column("closed_by")
        batch.drop_column("closed_at")
        batch.drop_column("assigned_to")
    op.drop_index(op.f("ix_csat_ratings_at"), table_name="csat_ratings")
    op.drop_index(op.f("ix_csat_ratings_handoff_id"), table_name="csat_ratings")
    op.drop_table("csat_ratings")

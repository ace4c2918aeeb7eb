"""one code per customer and offer place: offer_codes.slot, unique with offer and customer

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 17:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

# Codes issued before this revision are numbered per offer and customer in issue order,
# so any duplicates the old count-then-insert race made keep distinct places.
NUMBER_EXISTING = """
UPDATE offer_codes SET slot = (
    SELECT COUNT(*) FROM offer_codes AS earlier
    WHERE earlier.offer_id = offer_codes.offer_id AND earlier.customer_id = offer_codes.customer_id
      AND earlier.id <= offer_codes.id)
"""


def upgrade() -> None:
    with op.batch_alter_table("offer_codes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("slot", sa.Integer(), server_default="1", nullable=False))
    op.execute(NUMBER_EXISTING)
    with op.batch_alter_table("offer_codes", schema=None) as batch_op:
        batch_op.create_unique_constraint("uq_offer_codes_offer_customer_slot", ["offer_id", "customer_id", "slot"])


def downgrade() -> None:
    with op.batch_alter_table("offer_codes", schema=None) as batch_op:
        batch_op.drop_constraint("uq_offer_codes_offer_customer_slot", type_="unique")
        batch_op.drop_column("slot")

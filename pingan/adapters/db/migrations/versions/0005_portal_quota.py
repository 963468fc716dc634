"""portal usage: bytes stored and quarantined per unit and day, for the portal's quota

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06 06:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "portal_usage",
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("stored_bytes", sa.BigInteger(), nullable=False),
        sa.Column("quarantined_bytes", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaign.id"],
            name=op.f("fk_portal_usage_campaign_id_campaign"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["unit_id"],
            ["unit.id"],
            name=op.f("fk_portal_usage_unit_id_unit"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("unit_id", "day", name=op.f("pk_portal_usage")),
    )
    with op.batch_alter_table("portal_usage", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_portal_usage_campaign_id"), ["campaign_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("portal_usage", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_portal_usage_campaign_id"))
    op.drop_table("portal_usage")

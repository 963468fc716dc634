"""portal links: the token version of each unit's personal links

A unit without a row is at version 1; revoking its links bumps the version.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-07 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "portal_link",
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.Column("revoked_by", sa.String(length=100), nullable=True),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaign.id"],
            name=op.f("fk_portal_link_campaign_id_campaign"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["unit_id"],
            ["unit.id"],
            name=op.f("fk_portal_link_unit_id_unit"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("unit_id", name=op.f("pk_portal_link")),
    )
    with op.batch_alter_table("portal_link", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_portal_link_campaign_id"), ["campaign_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("portal_link", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_portal_link_campaign_id"))
    op.drop_table("portal_link")

"""short links: the fingerprints of the short codes behind /k/<code> and their claims

Only a code's fingerprint is stored, never the code or the personal link it stands for.

Revision ID: 0012
Revises: 0009 (the head of this branch's base; the lead re-chains)
Create Date: 2026-12-06 10:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "short_link",
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("unit_code", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaign.id"],
            name=op.f("fk_short_link_campaign_id_campaign"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["unit_id"],
            ["unit.id"],
            name=op.f("fk_short_link_unit_id_unit"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("fingerprint", name=op.f("pk_short_link")),
    )
    with op.batch_alter_table("short_link", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_short_link_campaign_id"), ["campaign_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_short_link_unit_id"), ["unit_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("short_link", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_short_link_unit_id"))
        batch_op.drop_index(batch_op.f("ix_short_link_campaign_id"))
    op.drop_table("short_link")

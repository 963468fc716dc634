"""mail intake: what each mail read from the campaign's mailbox became

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06 05:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "mail_item",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("message_key", sa.String(length=64), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("message_id", sa.String(length=500), nullable=True),
        sa.Column("sender", sa.String(length=254), nullable=True),
        sa.Column("name", sa.String(length=500), nullable=True),
        sa.Column("unit_code", sa.String(length=64), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("reason_code", sa.String(length=32), nullable=True),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.Column("submission_id", sa.Integer(), nullable=True),
        sa.Column("receipt", sa.String(length=32), nullable=True),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaign.id"],
            name=op.f("fk_mail_item_campaign_id_campaign"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mail_item")),
        sa.UniqueConstraint(
            "campaign_id",
            "message_key",
            "sha256",
            name=op.f("uq_mail_item_campaign_id_message_key_sha256"),
        ),
    )


def downgrade() -> None:
    op.drop_table("mail_item")

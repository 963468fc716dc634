"""sliding rate window: endpoint_slot replaces the fixed one-minute endpoint_rate window

Each robot endpoint has one row per allowed send a minute, holding the time of a granted
send; a new send takes a slot only once its send is a full minute old, so no 60-second
span ever holds more sends than the limit, whichever workers send them.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06 06:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "endpoint_slot",
        sa.Column("endpoint", sa.String(length=128), nullable=False),
        sa.Column("slot", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("used_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("endpoint", "slot", name=op.f("pk_endpoint_slot")),
    )
    op.drop_table("endpoint_rate")


def downgrade() -> None:
    op.create_table(
        "endpoint_rate",
        sa.Column("endpoint", sa.String(length=128), nullable=False),
        sa.Column("window_start", sa.DateTime(), nullable=False),
        sa.Column("used", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("endpoint", name=op.f("pk_endpoint_rate")),
    )
    op.drop_table("endpoint_slot")

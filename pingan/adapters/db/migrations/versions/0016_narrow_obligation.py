"""narrow obligation: no creation time on items

obligation.created_at was written when an item was materialised and never read. The daily
evaluation rewrites every open or overdue item and the tick's planner and counts read every
item of the campaign: at 1M cells the 26-byte text timestamp (on SQLite) was a quarter of
each row, and dropping it took a tick from 10.0 to 9.3 s there.

Both backends drop the column in place (ALTER TABLE … DROP COLUMN; SQLite ≥ 3.35): SQLite
does not recreate the table, so nothing that references an obligation is touched.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06 16:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("ALTER TABLE obligation DROP COLUMN created_at")


def downgrade() -> None:
    """Back with each item's unit's creation time: items were materialised when their unit
    was loaded or came back, which is as near as the data goes."""
    if op.get_bind().dialect.name == "sqlite":
        # SQLite adds a NOT NULL column only with a constant default, which every row
        # then gets replaced below.
        op.add_column(
            "obligation",
            sa.Column(
                "created_at",
                sa.DateTime(),
                nullable=False,
                server_default="1970-01-01 00:00:00.000000",
            ),
        )
    else:
        op.add_column("obligation", sa.Column("created_at", sa.DateTime(), nullable=True))
    op.execute(
        "UPDATE obligation SET created_at ="
        " (SELECT u.created_at FROM unit u WHERE u.id = obligation.unit_id)"
    )
    if op.get_bind().dialect.name != "sqlite":
        op.alter_column("obligation", "created_at", nullable=False)

"""obligation domain: each item's domain stored on the obligation, for the status counts

The status report counted obligations per (domain, status) through a join to unit over every
item of the campaign. The item's domain (the unit's own, or for a unit without one the domain
it leads) is now a column, filled here for existing rows and kept in step by the load. It is
in no index and has no foreign key: the daily evaluation never rewrites it (its updates stay
HOT on PostgreSQL), and a foreign key would cost a trigger per materialised row.

unit gets a partial index on the units that are not active (withdrawn: few, and never
touched by the tick), by which the status counts find the items to take off.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06 13:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_NOT_ACTIVE = "status <> 'active'"
_FILL = """
UPDATE obligation SET domain_id = (
    SELECT coalesce(
        u.domain_id,
        (SELECT du.domain_id FROM domain_unit du
         WHERE du.unit_id = u.id AND du.role = 'lead' LIMIT 1)
    )
    FROM unit u WHERE u.id = obligation.unit_id
)
"""


def upgrade() -> None:
    # A nullable column without a default: no table rewrite on either backend.
    op.add_column("obligation", sa.Column("domain_id", sa.Integer(), nullable=True))
    op.execute(_FILL)
    op.create_index(
        "ix_unit_withdrawn",
        "unit",
        ["campaign_id"],
        unique=False,
        sqlite_where=sa.text(_NOT_ACTIVE),
        postgresql_where=sa.text(_NOT_ACTIVE),
    )


def downgrade() -> None:
    op.drop_index("ix_unit_withdrawn", table_name="unit")
    # A plain DROP COLUMN (SQLite >= 3.35), not a batch: recreating obligation on SQLite
    # would delete its rows, and the submissions that cascade from them.
    op.drop_column("obligation", "domain_id")

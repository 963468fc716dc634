"""tick at the limit: indexes that serve the hot statements only, no per-row FK checks on
the outbox's bulk inserts

- obligation: the (campaign_id, status) index was rewritten for every evaluated row, and
  made SQLite read a campaign's rows by index lookups instead of one scan; it goes. On
  PostgreSQL a fill factor of 50 leaves room in each page, so the tick's updates are HOT
  (no index entry per updated row). It applies to pages written from now on; `VACUUM FULL obligation`
  applies it to the rows already there.
- notification: the planner inserts rows selected from obligation and unit in the same
  statement, so the foreign keys on obligation_id and recipient_unit_id only cost two
  trigger calls per planned row on PostgreSQL; rows still go with their campaign (FK kept).

Revision ID: 0008
Revises: 0006
Create Date: 2026-12-06 09:00:00
"""

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FILLFACTOR = 50


@contextmanager
def _recreating_notification() -> Iterator[None]:
    """On SQLite a batch operation recreates notification: dropping the old table deletes
    its rows, which cascades to delivery. The deliveries are set aside and put back."""
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        op.execute("CREATE TEMP TABLE keep_delivery AS SELECT * FROM delivery")
    yield
    if sqlite:
        op.execute("INSERT INTO delivery SELECT * FROM keep_delivery")
        op.execute("DROP TABLE keep_delivery")


def upgrade() -> None:
    with op.batch_alter_table("obligation", schema=None) as batch_op:
        batch_op.drop_index("ix_obligation_campaign_status")
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"ALTER TABLE obligation SET (fillfactor = {FILLFACTOR})")
    with _recreating_notification(), op.batch_alter_table("notification") as batch_op:
        batch_op.drop_constraint("fk_notification_obligation_id_obligation", type_="foreignkey")
        batch_op.drop_constraint("fk_notification_recipient_unit_id_unit", type_="foreignkey")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE obligation RESET (fillfactor)")
    with _recreating_notification(), op.batch_alter_table("notification") as batch_op:
        batch_op.create_foreign_key(
            "fk_notification_recipient_unit_id_unit", "unit", ["recipient_unit_id"], ["id"]
        )
        batch_op.create_foreign_key(
            "fk_notification_obligation_id_obligation", "obligation", ["obligation_id"], ["id"]
        )
    with op.batch_alter_table("obligation", schema=None) as batch_op:
        batch_op.create_index(
            "ix_obligation_campaign_status", ["campaign_id", "status"], unique=False
        )

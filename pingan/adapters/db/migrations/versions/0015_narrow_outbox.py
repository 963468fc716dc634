"""narrow outbox: per-item rows store no text key, no row a creation time, and the recipient
index covers only rows without an obligation

A tick plans about 1.3M reminders and escalations at 1M cells in one INSERT … SELECT; what
each row writes and indexes is what that statement costs.

- notification.dedupe_key: NULL on per-item rows (obligation_id NOT NULL). Their key,
  campaign:r|e:obligation:level, names the same thing as (obligation_id, kind, level), which
  uq_notification_item keeps unique; it is derived where read (notifications.message_key),
  exactly as it was stored. Rows without an obligation keep their stored, unique text key.
- notification.created_at: written, never read.
- ix_notification_recipient_unit_id: only rows without an obligation (digests, awards,
  bulletins, alerts, sign-off, receipts). A per-item row's recipient is its obligation's
  unit, so per-item rows are found through obligation's unit index and the item key.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 10:00:00
"""

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TEXT_KEYED = "obligation_id IS NULL"
RECIPIENT_INDEX = "ix_notification_recipient_unit_id"
TRIGGER = "campaign_deletes_notifications"
# notifications.message_key's derived key, as the planner stored it until now.
ITEM_KEY = (
    "CAST(campaign_id AS VARCHAR(20)) || ':'"
    " || CASE kind WHEN 'reminder' THEN 'r' ELSE 'e' END || ':'"
    " || CAST(obligation_id AS VARCHAR(20)) || ':' || CAST(level AS VARCHAR(20))"
)


@contextmanager
def _recreating_notification() -> Iterator[None]:
    """On SQLite a batch operation recreates notification: dropping the old table deletes
    its rows, which cascades to delivery and empties signoff_link.notification_id. Both are
    set aside and put back (as in 0013). The trigger on campaign that deletes a campaign's
    notifications (0013) is dropped meanwhile and made again from its stored text: SQLite
    refuses to rename the new table while a trigger names a table that is gone."""
    bind = op.get_bind()
    sqlite = bind.dialect.name == "sqlite"
    trigger = None
    if sqlite:
        trigger = bind.scalar(
            sa.text("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = :n"),
            {"n": TRIGGER},
        )
        if trigger is not None:
            op.execute(f"DROP TRIGGER {TRIGGER}")
        op.execute("CREATE TEMP TABLE keep_delivery AS SELECT * FROM delivery")
        op.execute(
            "CREATE TEMP TABLE keep_signoff AS SELECT id, notification_id FROM signoff_link"
            " WHERE notification_id IS NOT NULL"
        )
    yield
    if sqlite:
        op.execute("INSERT INTO delivery SELECT * FROM keep_delivery")
        op.execute(
            "UPDATE signoff_link SET notification_id = (SELECT k.notification_id FROM"
            " keep_signoff k WHERE k.id = signoff_link.id)"
            " WHERE id IN (SELECT id FROM keep_signoff)"
        )
        op.execute("DROP TABLE keep_delivery")
        op.execute("DROP TABLE keep_signoff")
        if trigger is not None:
            op.execute(trigger)


def upgrade() -> None:
    op.drop_index(RECIPIENT_INDEX, table_name="notification")
    with _recreating_notification(), op.batch_alter_table("notification") as batch_op:
        batch_op.alter_column("dedupe_key", existing_type=sa.String(200), nullable=True)
        batch_op.drop_column("created_at")
    op.execute("UPDATE notification SET dedupe_key = NULL WHERE obligation_id IS NOT NULL")
    op.create_index(
        RECIPIENT_INDEX,
        "notification",
        ["recipient_unit_id"],
        unique=False,
        sqlite_where=sa.text(TEXT_KEYED),
        postgresql_where=sa.text(TEXT_KEYED),
    )


def downgrade() -> None:
    op.drop_index(RECIPIENT_INDEX, table_name="notification")
    op.execute(
        f"UPDATE notification SET dedupe_key = {ITEM_KEY}"
        " WHERE dedupe_key IS NULL AND obligation_id IS NOT NULL"
    )
    # Added nullable (no table rewrite), filled, then made NOT NULL with the key's change.
    op.add_column("notification", sa.Column("created_at", sa.DateTime(), nullable=True))
    op.execute("UPDATE notification SET created_at = coalesce(next_attempt_at, CURRENT_TIMESTAMP)")
    with _recreating_notification(), op.batch_alter_table("notification") as batch_op:
        batch_op.alter_column("dedupe_key", existing_type=sa.String(200), nullable=False)
        batch_op.alter_column("created_at", existing_type=sa.DateTime(), nullable=False)
    op.create_index(RECIPIENT_INDEX, "notification", ["recipient_unit_id"], unique=False)

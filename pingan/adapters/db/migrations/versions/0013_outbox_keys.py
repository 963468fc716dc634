"""outbox keys: integer keys for per-item rows, no foreign key on the outbox's bulk inserts

- notification: a reminder or escalation is unique by (obligation_id, kind, level), which
  names the same thing as its text key (campaign:r|e:obligation:level; obligation ids are
  unique across campaigns). The text key stays on every row (channels pass it on as an
  idempotency key) but is unique only where obligation_id IS NULL: digests, awards,
  bulletins, alerts, sign-off and receipts keep exactly that guarantee. Integer keys inserted
  in obligation order append to their index; text keys land all over theirs.
- notification: the foreign key to campaign cost a trigger call per planned row on
  PostgreSQL. The planner checks and locks the campaign once per statement instead, and a
  trigger on campaign deletes a deleted campaign's rows (their deliveries cascade from
  them), as ON DELETE CASCADE did.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06 12:40:00
"""

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TEXT_KEYED = "obligation_id IS NULL"
TRIGGER = "campaign_deletes_notifications"
FUNCTION = "notification_campaign_deleted"


@contextmanager
def _recreating_notification() -> Iterator[None]:
    """On SQLite a batch operation recreates notification: dropping the old table deletes
    its rows, which cascades to delivery and empties signoff_link.notification_id. Both are
    set aside and put back."""
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
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


def _create_trigger() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            f"CREATE FUNCTION {FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
            " EXECUTE format('DELETE FROM %I.notification WHERE campaign_id = $1',"
            " TG_TABLE_SCHEMA) USING OLD.id; RETURN OLD; END $$"
        )
        op.execute(
            f"CREATE TRIGGER {TRIGGER} AFTER DELETE ON campaign FOR EACH ROW"
            f" EXECUTE FUNCTION {FUNCTION}()"
        )
    else:
        op.execute(
            f"CREATE TRIGGER {TRIGGER} AFTER DELETE ON campaign FOR EACH ROW"
            " BEGIN DELETE FROM notification WHERE campaign_id = OLD.id; END"
        )


def _drop_trigger() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP TRIGGER {TRIGGER} ON campaign")
        op.execute(f"DROP FUNCTION {FUNCTION}()")
    else:
        op.execute(f"DROP TRIGGER {TRIGGER}")


def upgrade() -> None:
    with _recreating_notification(), op.batch_alter_table("notification") as batch_op:
        batch_op.drop_constraint("fk_notification_campaign_id_campaign", type_="foreignkey")
        batch_op.drop_constraint("uq_notification_dedupe_key", type_="unique")
    op.create_index(
        "uq_notification_item", "notification", ["obligation_id", "kind", "level"], unique=True
    )
    op.create_index(
        "uq_notification_dedupe_key",
        "notification",
        ["dedupe_key"],
        unique=True,
        sqlite_where=sa.text(TEXT_KEYED),
        postgresql_where=sa.text(TEXT_KEYED),
    )
    _create_trigger()


def downgrade() -> None:
    _drop_trigger()
    op.drop_index("uq_notification_dedupe_key", table_name="notification")
    op.drop_index("uq_notification_item", table_name="notification")
    with _recreating_notification(), op.batch_alter_table("notification") as batch_op:
        batch_op.create_unique_constraint("uq_notification_dedupe_key", ["dedupe_key"])
        batch_op.create_foreign_key(
            "fk_notification_campaign_id_campaign",
            "campaign",
            ["campaign_id"],
            ["id"],
            ondelete="CASCADE",
        )

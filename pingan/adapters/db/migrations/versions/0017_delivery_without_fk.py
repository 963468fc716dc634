"""delivery without a foreign key: a trigger on notification deletes a notification's
deliveries

The dispatcher's expansion inserts every delivery of a run in one INSERT … SELECT from
notification, so each delivery's notification exists by construction. On PostgreSQL the
foreign key still cost a trigger call and a locking lookup per inserted row: 15-20 of the
55 ms it took to expand 3,000 notifications. What ON DELETE CASCADE did is kept by a
trigger: deleting notifications (a deleted campaign's, by 0013's trigger) deletes their
deliveries. On PostgreSQL it runs once per statement, over the deleted rows' transition
table; SQLite has row triggers only.

On SQLite the delivery table is recreated without the constraint (nothing references a
delivery, so no row elsewhere is touched). A later migration that recreates notification
on SQLite drops this trigger with the old table and must make it again.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07 17:10:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FK = "fk_delivery_notification_id_notification"
TRIGGER = "notification_deletes_deliveries"
FUNCTION = "notification_deliveries_deleted"


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_constraint(FK, "delivery", type_="foreignkey")
        # The schema by name, as 0013's trigger does: tests and benchmarks run in schemas
        # of their own on one database.
        op.execute(
            f"CREATE FUNCTION {FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
            " EXECUTE format('DELETE FROM %I.delivery WHERE notification_id IN"
            " (SELECT id FROM gone)', TG_TABLE_SCHEMA); RETURN NULL; END $$"
        )
        op.execute(
            f"CREATE TRIGGER {TRIGGER} AFTER DELETE ON notification REFERENCING OLD TABLE AS"
            f" gone FOR EACH STATEMENT EXECUTE FUNCTION {FUNCTION}()"
        )
        return
    with op.batch_alter_table("delivery") as batch_op:
        batch_op.drop_constraint(FK, type_="foreignkey")
    op.execute(
        f"CREATE TRIGGER {TRIGGER} AFTER DELETE ON notification FOR EACH ROW"
        " BEGIN DELETE FROM delivery WHERE notification_id = OLD.id; END"
    )


def downgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    if postgresql:
        op.execute(f"DROP TRIGGER {TRIGGER} ON notification")
        op.execute(f"DROP FUNCTION {FUNCTION}()")
    else:
        op.execute(f"DROP TRIGGER {TRIGGER}")
    # A delivery whose notification went while no key held it cannot keep one.
    op.execute(
        "DELETE FROM delivery WHERE NOT EXISTS"
        " (SELECT 1 FROM notification n WHERE n.id = delivery.notification_id)"
    )
    if postgresql:
        op.create_foreign_key(
            FK, "delivery", "notification", ["notification_id"], ["id"], ondelete="CASCADE"
        )
        return
    with op.batch_alter_table("delivery") as batch_op:
        batch_op.create_foreign_key(
            FK, "notification", ["notification_id"], ["id"], ondelete="CASCADE"
        )

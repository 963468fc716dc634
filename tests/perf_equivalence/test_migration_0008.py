"""Migration 0008 (issue 19) on a database in use: dropping the outbox's foreign keys
recreates the notification table on SQLite, which must not take the deliveries with it."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, func, insert, inspect, select

from pingan.adapters.db.deliveries import DeliveryRow
from pingan.adapters.db.notifications import NotificationRow
from pingan.adapters.db.session import alembic_config, current_revision, head_revision, upgrade
from tests.factories import load_seed


def _deliveries(engine: Engine) -> list[tuple[int, int, str]]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(DeliveryRow.id, DeliveryRow.notification_id, DeliveryRow.address).order_by(
                DeliveryRow.id
            )
        )
        return [tuple(r) for r in rows]


def _notification_fks(engine: Engine) -> set[str]:
    return {fk["referred_table"] for fk in inspect(engine).get_foreign_keys("notification")}


def test_down_and_up_across_0008_keep_notifications_and_deliveries(
    engine: Engine, tmp_path: Path
) -> None:
    db = load_seed(engine, tmp_path, cells=5)
    db.tick(date(2017, 11, 1))
    with engine.begin() as conn:
        ids = list(conn.scalars(select(NotificationRow.id).order_by(NotificationRow.id)))
        conn.execute(
            insert(DeliveryRow),
            [
                {"notification_id": i, "campaign_id": db.cid, "channel": "file", "address": "x"}
                for i in ids
            ],
        )
    before = _deliveries(engine)
    assert len(before) == len(ids) > 0
    assert _notification_fks(engine) == set()  # 0013 dropped the last one, to campaign

    config = alembic_config(engine)
    before_0008 = ScriptDirectory.from_config(config).get_revision("0008").down_revision
    command.downgrade(config, str(before_0008))
    assert _deliveries(engine) == before
    assert _notification_fks(engine) == {"campaign", "obligation", "unit"}

    upgrade(engine)
    assert current_revision(engine) == head_revision(engine)
    assert _deliveries(engine) == before
    assert _notification_fks(engine) == set()
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(NotificationRow)) == len(ids)

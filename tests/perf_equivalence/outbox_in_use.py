"""An outbox in use, for the migration tests: the seed campaign ticked on the given days,
a delivery for every message and a sign-off link on the first (the rows a rebuilt
notification table must not take with it)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path

from sqlalchemy import Engine, insert, select

from pingan.adapters.db.deliveries import DeliveryRow
from pingan.adapters.db.notifications import NotificationRow
from pingan.adapters.db.signoff_links import SignoffLinkRow
from tests.factories import Loaded, load_seed


def outbox_in_use(engine: Engine, tmp_path: Path, days: Sequence[date]) -> Loaded:
    db = load_seed(engine, tmp_path, cells=5)
    for day in days:
        db.tick(day)
    with engine.begin() as conn:
        ids = list(conn.scalars(select(NotificationRow.id).order_by(NotificationRow.id)))
        conn.execute(
            insert(DeliveryRow),
            [
                {"notification_id": i, "campaign_id": db.cid, "channel": "file", "address": "x"}
                for i in ids
            ],
        )
        conn.execute(
            insert(SignoffLinkRow).values(
                campaign_id=db.cid,
                flow_run_id="run",
                approver="a",
                channel="file",
                address="x",
                as_of=days[-1],
                expires_at=datetime(2030, 1, 1),
                notification_id=ids[0],
            )
        )
    return db

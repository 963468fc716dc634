"""Migration 0017 (no foreign key from delivery to notification): deleting notifications
still deletes their deliveries, as ON DELETE CASCADE did, and down and up again keep every
delivery."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

from alembic import command
from sqlalchemy import Engine, inspect
from sqlalchemy.orm import Session

from pingan.adapters.db.session import alembic_config, current_revision, head_revision, upgrade
from pingan.adapters.outbox import expand
from tests.factories import Loaded, load_seed

DAY = date(2017, 11, 1)


def _outbox(engine: Engine, tmp_path: Path) -> Loaded:
    """The seed at five cells, ticked and expanded: notifications with their deliveries."""
    db = load_seed(engine, tmp_path, cells=5)
    db.tick(DAY)
    with Session(engine) as session:
        expand(session, db.cid, datetime(2017, 11, 1, 9), channels=["email", "wecom"])
        session.commit()
    assert db.scalar("SELECT count(*) FROM delivery") > 0
    return db


def _deliveries(db: Loaded) -> list[tuple[object, ...]]:
    return sorted(tuple(r) for r in db.rows("SELECT * FROM delivery"))


def test_deleting_notifications_deletes_their_deliveries_only(
    engine: Engine, tmp_path: Path
) -> None:
    db = _outbox(engine, tmp_path)
    gone = db.scalar("SELECT min(notification_id) FROM delivery")
    others = db.scalar("SELECT count(*) FROM delivery WHERE notification_id <> :n", n=gone)

    db.execute("DELETE FROM notification WHERE id = :n", {"n": gone})

    assert db.scalar("SELECT count(*) FROM delivery WHERE notification_id = :n", n=gone) == 0
    assert db.scalar("SELECT count(*) FROM delivery") == others > 0


def test_deleting_a_campaign_deletes_its_deliveries(engine: Engine, tmp_path: Path) -> None:
    db = _outbox(engine, tmp_path)

    db.execute("DELETE FROM campaign WHERE id = :c")

    assert db.scalar("SELECT count(*) FROM delivery") == 0


def test_down_and_up_across_0017_keep_every_delivery(engine: Engine, tmp_path: Path) -> None:
    db = _outbox(engine, tmp_path)
    before = _deliveries(db)
    assert not inspect(engine).get_foreign_keys("delivery")

    command.downgrade(alembic_config(engine), "0016")
    assert [fk["referred_table"] for fk in inspect(engine).get_foreign_keys("delivery")] == [
        "notification"
    ]
    assert _deliveries(db) == before

    upgrade(engine)
    assert current_revision(engine) == head_revision(engine)
    assert _deliveries(db) == before
    assert not inspect(engine).get_foreign_keys("delivery")

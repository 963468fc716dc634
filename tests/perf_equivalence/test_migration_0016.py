"""Migration 0016 (no obligation.created_at) on a database in use: down and up again keep
every obligation as it was and every submission that references one (the column is dropped
in place, so SQLite's cascade from a recreated table never runs)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from alembic import command
from sqlalchemy import Engine, insert, inspect, select

from pingan.adapters.db.obligations import ObligationRow, SubmissionRow
from pingan.adapters.db.session import alembic_config, current_revision, head_revision, upgrade
from tests.factories import load_seed

DAY = date(2017, 11, 1)
OC = ObligationRow.__table__.c


def _state(engine: Engine) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    with engine.connect() as conn:
        items = conn.execute(select(*OC).order_by(OC.id))
        subs = conn.execute(select(SubmissionRow.id, SubmissionRow.obligation_id))
        return [tuple(r) for r in items], sorted(tuple(r) for r in subs)


def _columns(engine: Engine) -> set[str]:
    return {c["name"] for c in inspect(engine).get_columns("obligation")}


def test_down_and_up_across_0016_keep_the_items_and_their_submissions(
    engine: Engine, tmp_path: Path
) -> None:
    db = load_seed(engine, tmp_path, cells=5)
    db.tick(DAY)
    first = db.scalar("SELECT min(id) FROM obligation WHERE campaign_id = :c")
    with engine.begin() as conn:
        conn.execute(
            insert(SubmissionRow).values(
                campaign_id=db.cid, obligation_id=first, received_on=DAY, source="portal"
            )
        )
    before = _state(engine)
    assert before[1] and "created_at" not in _columns(engine)

    command.downgrade(alembic_config(engine), "0015")
    assert "created_at" in _columns(engine)
    assert db.scalar("SELECT count(*) FROM obligation WHERE created_at IS NULL") == 0
    assert db.scalar(
        "SELECT count(*) FROM obligation o JOIN unit u ON u.id = o.unit_id"
        " WHERE o.created_at = u.created_at"
    ) == len(before[0])

    upgrade(engine)
    assert current_revision(engine) == head_revision(engine)
    assert _state(engine) == before
    assert db.tick(DAY).plan.total == 0  # nothing forgotten: every message still planned

"""Migration 0014 on a database in use: the obligation's domain column goes away on the way
down without taking rows with it (no table rebuild on SQLite, whose cascade would delete the
submissions), and on the way up every existing item gets the domain resolved from its unit."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

from alembic import command
from sqlalchemy import Engine, func, inspect, select
from sqlalchemy.orm import Session

from pingan.adapters.db.obligations import ObligationRow
from pingan.adapters.db.session import alembic_config, current_revision, head_revision, upgrade
from pingan.adapters.db.status import obligation_domain_expr, status_counts
from pingan.adapters.db.units import UnitRow
from tests.factories import load_seed


def _columns(engine: Engine) -> set[str]:
    return {c["name"] for c in inspect(engine).get_columns("obligation")}


def test_down_and_up_across_0014_fill_every_items_domain(engine: Engine, tmp_path: Path) -> None:
    db = load_seed(engine, tmp_path, cells=12)
    db.tick(date(2017, 11, 1))
    db.execute(
        "INSERT INTO submission (campaign_id, obligation_id, received_at, received_on, late,"
        " source) SELECT campaign_id, id, :t, :d, false, 'portal' FROM obligation"
        " WHERE id % 3 = 0",
        {"t": datetime(2017, 10, 1, 8), "d": date(2017, 10, 1)},
    )
    submissions, obligations = db.count("submission"), db.count("obligation")
    with Session(engine) as session:
        before = status_counts(session, db.cid)

    command.downgrade(alembic_config(engine), "0013")
    assert "domain_id" not in _columns(engine)
    assert (db.count("submission"), db.count("obligation")) == (submissions, obligations)

    upgrade(engine)
    assert current_revision(engine) == head_revision(engine)
    assert "domain_id" in _columns(engine)
    assert (db.count("submission"), db.count("obligation")) == (submissions, obligations)
    dom = obligation_domain_expr()
    with Session(engine) as session:
        stale = session.scalar(
            select(func.count())
            .select_from(ObligationRow)
            .join(UnitRow, UnitRow.id == ObligationRow.unit_id)
            .where(ObligationRow.domain_id.is_distinct_from(dom))
        )
        filled = session.scalar(select(func.count()).where(ObligationRow.domain_id.is_not(None)))
        assert stale == 0 and filled
        assert status_counts(session, db.cid) == before

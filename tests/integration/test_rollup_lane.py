"""A dispatcher run's roll-ups (pingan.adapters.outbox.rollup_lane): on PostgreSQL sent on a
connection of their own without waiting, read before the next one, and repeated at once when
the server chose one as a deadlock's victim; on SQLite run at once."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path

import pytest
from sqlalchemy import Connection, Engine
from sqlalchemy.orm import Session

from pingan.adapters.outbox import expand
from pingan.adapters.outbox import rollup_lane as lane_module
from pingan.adapters.outbox.rollup_lane import RollupLane
from tests.factories import Loaded, load_seed

DAY = date(2017, 11, 1)


@pytest.fixture
def sent(engine: Engine, tmp_path: Path) -> tuple[Loaded, list[int]]:
    """Notifications whose every delivery is marked sent, not yet rolled up."""
    db = load_seed(engine, tmp_path, cells=5)
    db.tick(DAY)
    with Session(engine) as session:
        expand(session, db.cid, datetime(2017, 11, 1, 9), channels=["email", "wecom"])
        session.commit()
    db.execute("UPDATE delivery SET state = 'sent', sent_at = CURRENT_TIMESTAMP")
    nids = [r[0] for r in db.rows("SELECT DISTINCT notification_id FROM delivery ORDER BY 1")]
    assert nids
    return db, nids


@contextmanager
def _run_lane(engine: Engine) -> Iterator[tuple[Connection, RollupLane]]:
    """A run's autocommit connection and its lane, closed on leaving."""
    with engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT")
        with RollupLane(engine, conn) as lane:
            yield conn, lane


def _postgresql_only(engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite rolls up at once on the run's connection")


def _states(db: Loaded, nids: list[int]) -> set[str]:
    rows = db.rows("SELECT id, state FROM notification")
    return {state for nid, state in rows if nid in set(nids)}


def test_rolled_up_notifications_follow_their_deliveries_once_waited_for(
    engine: Engine, sent: tuple[Loaded, list[int]]
) -> None:
    db, nids = sent
    with _run_lane(engine) as (_, lane):
        lane.submit(nids)
        lane.wait()
    assert _states(db, nids) == {"sent"}


@pytest.mark.postgres
def test_a_roll_up_does_not_hold_up_the_run_on_postgresql(
    engine: Engine, sent: tuple[Loaded, list[int]]
) -> None:
    _postgresql_only(engine)
    db, nids = sent
    with engine.connect() as blocker, _run_lane(engine) as (conn, lane):
        # Another transaction holds one of the notifications: the roll-up must wait for it,
        # and submitting it must not.
        blocker.exec_driver_sql("SELECT 1 FROM notification WHERE id = %s FOR UPDATE", (nids[0],))
        lane.submit(nids)
        assert conn.exec_driver_sql("SELECT 1").scalar() == 1  # the run goes on
        assert _states(db, nids) != {"sent"}
        blocker.rollback()
        lane.wait()
    assert _states(db, nids) == {"sent"}


@pytest.mark.postgres
def test_a_roll_up_chosen_as_a_deadlock_victim_is_done_again(
    engine: Engine, sent: tuple[Loaded, list[int]], monkeypatch: pytest.MonkeyPatch
) -> None:
    _postgresql_only(engine)
    db, nids = sent
    real = lane_module._result
    outcomes: list[tuple[str | None, str]] = []

    def victim(pg: object) -> tuple[str | None, str]:
        real(pg)  # the roll-up ran; report it as the deadlock's victim, rolled back
        db.execute("UPDATE notification SET state = 'queued'")
        outcomes.append(("40P01", "deadlock detected"))
        return outcomes[-1]

    monkeypatch.setattr(lane_module, "_result", victim)
    with _run_lane(engine) as (_, lane):
        lane.submit(nids)
    assert outcomes and _states(db, nids) == {"sent"}


@pytest.mark.postgres
def test_a_failed_roll_up_is_raised_and_its_connection_dropped(
    engine: Engine, sent: tuple[Loaded, list[int]], monkeypatch: pytest.MonkeyPatch
) -> None:
    _postgresql_only(engine)
    _, nids = sent
    real = lane_module._result

    def failed(pg: object) -> tuple[str | None, str]:
        real(pg)
        return "53100", "could not extend file"

    monkeypatch.setattr(lane_module, "_result", failed)
    with (
        pytest.raises(Exception, match="rolling notifications up failed"),
        _run_lane(engine) as (_, lane),
    ):
        lane.submit(nids)
        raw = lane._raw
    assert raw.dbapi_connection is None  # invalidated, not back in the pool


@pytest.mark.postgres
def test_a_run_without_roll_ups_takes_no_second_connection(engine: Engine) -> None:
    with _run_lane(engine) as (_, lane):
        lane.now([])
    assert lane._raw is None


@pytest.mark.postgres
def test_the_lane_gives_its_connection_back_as_it_found_it(
    engine: Engine, sent: tuple[Loaded, list[int]]
) -> None:
    _postgresql_only(engine)
    _, nids = sent
    with _run_lane(engine) as (_, lane):
        lane.submit(nids)
        db = lane._raw.driver_connection
    assert db.autocommit is False
    assert db.execute("SHOW synchronous_commit").fetchone()[0] == "on"
    db.rollback()

"""Delivery marks on a real database (SQLite and PostgreSQL): each mark is its own committed
transaction as soon as ``mark`` returns, and every mark is told whether it wrote its row. On
PostgreSQL marks are pipelined and their answers read a group at a time.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import OperationalError as SAOperationalError
from sqlalchemy.orm import Session

from pingan.adapters.outbox import claim, expand, mark_pipeline
from pingan.adapters.outbox.marks import Marker, _pg_text, fast_commits, finish_mark, mark
from tests.factories import ROOT, Loaded, load_seed

T0 = datetime(2017, 5, 22, 2, 0)
OWNER = "worker-a"


@pytest.fixture
def db(engine: Engine, tmp_path: Path) -> Loaded:
    loaded = load_seed(engine, tmp_path, cells=20)
    loaded.tick(date(2017, 5, 22))
    with Session(engine) as session:
        expand(session, loaded.cid, T0, channels=["email", "wecom"])
        session.commit()
    return loaded


def leased(db: Loaded, n: int, owner: str = OWNER) -> list[int]:
    rows = claim(db.engine, db.cid, owner, T0, n, 300)
    assert len(rows) == n
    return [r.id for r in rows]


def sent(at: datetime = T0) -> dict[str, Any]:
    return {"state": "sent", "lease_until": None, "sent_at": at, "parts": 1}


def states(db: Loaded, ids: list[int]) -> dict[int, str]:
    return {r.id: r.state for r in db.rows("SELECT id, state FROM delivery") if r.id in ids}


def autocommit(db: Loaded) -> Connection:
    conn = db.engine.connect()
    conn.execution_options(isolation_level="AUTOCOMMIT")
    fast_commits(conn, True)
    return conn


def test_every_mark_is_told_whether_it_wrote_its_row_in_order(db: Loaded) -> None:
    mine = leased(db, 8)
    theirs = leased(db, 1, owner="worker-b")
    told: list[tuple[int, bool]] = []
    with autocommit(db) as conn:
        for row_id in [*mine[:4], *theirs, *mine[4:]]:
            mark(conn, row_id, OWNER, sent(), lambda ok, r=row_id: told.append((r, ok)))
        finish_mark(conn)
        assert conn.execute(text("SELECT 1")).scalar() == 1  # usable again
    assert told == [(r, r not in theirs) for r in [*mine[:4], *theirs, *mine[4:]]]
    assert set(states(db, mine).values()) == {"sent"}
    assert states(db, theirs) == dict.fromkeys(theirs, "leased")


def test_a_mark_is_committed_before_its_result_is_read(db: Loaded) -> None:
    """What bounds duplicates: once ``mark`` returns, the mark survives the worker."""
    mine = leased(db, 3)
    told: list[bool] = []
    with autocommit(db) as conn:
        for row_id in mine:
            mark(conn, row_id, OWNER, sent(), told.append)
        deadline = time.monotonic() + 10
        while set(states(db, mine).values()) != {"sent"} and time.monotonic() < deadline:
            time.sleep(0.01)  # another connection: the server commits on its own time
        assert set(states(db, mine).values()) == {"sent"}
        finish_mark(conn)
    assert told == [True, True, True]


def test_marks_with_different_columns_share_one_batch(db: Loaded) -> None:
    """A mark of a new shape is prepared first, which ends the pipeline for a moment."""
    mine = leased(db, 4)
    failed = {
        "state": "failed",
        "lease_until": None,
        "attempts": 1,
        "last_error": "服务器繁忙",
        "next_attempt_at": T0 + timedelta(minutes=1),
    }
    told: list[bool] = []
    with autocommit(db) as conn:
        mark(conn, mine[0], OWNER, sent(), told.append)
        mark(conn, mine[1], OWNER, failed, told.append)
        mark(conn, mine[2], OWNER, sent(), told.append)
        mark(conn, mine[3], OWNER, {**failed, "endpoint": "email:abc"}, told.append)
        finish_mark(conn)
    assert told == [True] * 4
    assert states(db, mine) == dict(zip(mine, ["sent", "failed", "sent", "failed"], strict=True))


def test_a_failing_mark_raises_after_the_others_are_settled(db: Loaded) -> None:
    if db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite does not enforce the column's length")
    mine = leased(db, 3)
    told: list[tuple[int, bool]] = []
    with autocommit(db) as conn:
        mark(conn, mine[0], OWNER, sent(), lambda ok: told.append((0, ok)))
        too_long = {**sent(), "endpoint": "x" * 500}  # endpoint is VARCHAR(128)
        mark(conn, mine[1], OWNER, too_long, lambda ok: told.append((1, ok)))
        mark(conn, mine[2], OWNER, sent(), lambda ok: told.append((2, ok)))
        with pytest.raises(Exception, match="marking a delivery failed") as caught:
            finish_mark(conn)
        assert not isinstance(caught.value, SAOperationalError)  # the driver's own error
        assert conn.execute(text("SELECT 1")).scalar() == 1
    assert told == [(0, True), (2, True)]
    assert states(db, mine) == dict(zip(mine, ["sent", "leased", "sent"], strict=True))


def test_a_run_prepares_its_marks_again_after_the_session_dropped_them(db: Loaded) -> None:
    """psycopg runs DEALLOCATE ALL after a rollback once it has prepared statements of its
    own, so a pooled connection may come back without the marks an earlier run prepared."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite prepares nothing by name")
    mine = leased(db, 2)
    told: list[bool] = []
    with autocommit(db) as conn:
        mark(conn, mine[0], OWNER, sent(), told.append)
        finish_mark(conn)
        conn.exec_driver_sql("DEALLOCATE ALL")
        fast_commits(conn, True)  # the next run on this connection
        mark(conn, mine[1], OWNER, sent(), told.append)
        finish_mark(conn)
    assert told == [True, True]
    assert set(states(db, mine).values()) == {"sent"}


def test_a_run_may_prepare_a_mark_its_session_still_holds(db: Loaded) -> None:
    mine = leased(db, 2)
    told: list[bool] = []
    with autocommit(db) as conn:
        for row_id in mine:
            fast_commits(conn, True)  # each a new run: the mark is prepared again
            mark(conn, row_id, OWNER, sent(), told.append)
            finish_mark(conn)
    assert told == [True, True]


def test_one_marker_keeps_marking_after_its_results_are_read_mid_batch(db: Loaded) -> None:
    """A batch's marks share one Marker, and a lease renewal or a rate slot reads the marks'
    results in the middle of the batch: the marks after it start a new pipeline."""
    mine = leased(db, 4)
    keys = ("lease_until", "parts", "sent_at", "state")
    told: list[tuple[int, bool]] = []
    with autocommit(db) as conn:
        marker = Marker(conn, OWNER)
        for i, row_id in enumerate(mine):
            marker.mark(row_id, keys, [None, 1, T0, "sent"], lambda ok, i=i: told.append((i, ok)))
            if i == 1:
                finish_mark(conn)
                assert conn.execute(text("SELECT 1")).scalar() == 1
        finish_mark(conn)
    assert told == [(0, True), (1, True), (2, True), (3, True)]
    assert set(states(db, mine).values()) == {"sent"}


# A worker that marks the given rows sent and is killed before it reads any answer.
_KILLED_WORKER = """
import os, signal, sys
from datetime import datetime
from pingan.adapters.db.session import make_engine
from pingan.adapters.outbox.marks import Marker, fast_commits
url, owner, *ids = sys.argv[1:]
conn = make_engine(url).connect()
conn.execution_options(isolation_level="AUTOCOMMIT")
fast_commits(conn, True)
marker = Marker(conn, owner)
keys = ("lease_until", "parts", "sent_at", "state")
for row_id in ids:
    marker.mark(int(row_id), keys, [None, 1, datetime(2017, 5, 22, 2), "sent"], print)
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_a_killed_worker_leaves_every_mark_it_sent_committed_while_the_server_lags(
    db: Loaded, db_url: str
) -> None:
    """The server is held up on the first of 10 marks (its row locked by another session)
    while the worker sends the other 9 and is killed: the server still commits all 10."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite commits each mark before mark returns")
    mine = leased(db, 10)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with db.engine.connect() as other:
        other.execute(text("SELECT id FROM delivery WHERE id = :i FOR UPDATE"), {"i": mine[0]})
        worker = subprocess.run(
            [sys.executable, "-c", _KILLED_WORKER, db_url, OWNER, *map(str, mine)],
            env=env,
            capture_output=True,
            timeout=120,
        )
        assert worker.returncode == -signal.SIGKILL, worker.stderr.decode(errors="replace")
        assert states(db, mine[:1]) == {mine[0]: "leased"}  # still waiting for the lock
        other.rollback()
    deadline = time.monotonic() + 20
    while set(states(db, mine).values()) != {"sent"} and time.monotonic() < deadline:
        time.sleep(0.05)
    assert states(db, mine) == dict.fromkeys(mine, "sent")


def test_a_group_of_marks_is_told_once_its_answers_are_read(
    db: Loaded, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Answers are read a group at a time (and by ``finish_mark``), before any mark goes
    out behind the group's end."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite tells each mark at once")
    monkeypatch.setattr(mark_pipeline, "GROUP", 4)
    mine = leased(db, 6)
    told: list[int] = []
    with autocommit(db) as conn:
        for i, row_id in enumerate(mine):
            mark(conn, row_id, OWNER, sent(), lambda ok, i=i: told.append(i) if ok else None)
            assert told == ([0, 1, 2, 3] if i >= 4 else [])
        finish_mark(conn)
    assert told == [0, 1, 2, 3, 4, 5]


@pytest.mark.parametrize(
    ("value", "text_value"),
    [
        ("发送成功", "发送成功".encode()),
        (None, None),
        (3, b"3"),
        (datetime(2017, 5, 22, 9, 30, 0, 5), b"2017-05-22 09:30:00.000005"),
        (True, b"True"),
    ],
)
def test_a_marks_parameter_goes_to_postgresql_as_text(value: object, text_value: object) -> None:
    assert _pg_text(value) == text_value

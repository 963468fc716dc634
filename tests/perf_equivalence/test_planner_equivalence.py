"""The faster tick changes nothing: a whole campaign replayed day by day, on two databases
loaded alike, once with the tick as it was before issue 19 (tests/perf_equivalence/old_*.py:
one transaction, one INSERT per reminder band and per contact rung, every row evaluated) and
once with pingan's tick. Obligations are compared row for row after every tick, each tick's
plan summary too, and the outboxes row for row at the end.

The replay has what moves the planner: submissions on time, late and never; days without a
tick (a tick then catches up on the rungs it missed); waivers and a re-opened waiver; a
withdrawn cell.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from random import Random
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session

from pingan.adapters.db.session import make_engine
from pingan.services.tick import evaluate_and_plan
from tests.factories import Loaded, as_date, days, key_sql, load_seed, vacuum_if_postgres
from tests.perf_equivalence import old_evaluate, old_ladder

pytestmark = pytest.mark.slow

FIRST, LAST = date(2017, 5, 1), date(2017, 12, 8)
CELLS = 40
PG_URL = os.environ.get("PINGAN_TEST_DATABASE_URL")
OBLIGATION_COLUMNS = (
    "id, status, status_as_of, wd_offset, days_overdue, escalation_level, notified_level"
)
# The old tick stores every key, the new one derives the per-item keys: compared as read.
OUTBOX_COLUMNS = (
    f"{key_sql()} AS dedupe_key, kind, level, recipient_unit_id, obligation_id, planned_on, state"
)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def twin_urls(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """Two empty databases of one backend: SQLite files, or two PostgreSQL schemas."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'old.db'}", f"sqlite:///{tmp_path / 'new.db'}"
        return
    if not PG_URL:
        pytest.skip("PostgreSQL 部分已跳过：未设置 PINGAN_TEST_DATABASE_URL")
    schemas = [f"t_{uuid.uuid4().hex[:12]}" for _ in range(2)]
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        for schema in schemas:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in PG_URL else "?"
    try:
        old, new = (f"{PG_URL}{sep}options=-csearch_path%3D{s}" for s in schemas)
        yield old, new
    finally:
        with admin.begin() as conn:
            for schema in schemas:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def _summary(plan: Any) -> tuple[int, int, int, dict[int, int]]:
    return plan.reminders, plan.escalations, plan.digests, plan.by_level


def _old_tick(db: Loaded, day: date) -> Any:
    """The tick before issue 19: evaluation and planning in one transaction."""
    with Session(db.engine) as session:
        old_evaluate.evaluate(session, db.handle.campaign, db.cid, day)
        summary = old_ladder.plan_notifications(session, db.handle.campaign, db.cid, day)
        session.commit()
    return summary


def _events(db: Loaded) -> dict[date, list[tuple[str, dict[str, Any]]]]:
    """Per day, the SQL run just before that day's tick (the same on both databases)."""
    rng = Random(19)
    events: dict[date, list[tuple[str, dict[str, Any]]]] = {}
    rows = db.obligations()
    for r in rows:
        opens, due = as_date(r.opens_on), as_date(r.due_on)
        assert opens is not None and due is not None
        roll = rng.random()
        if roll < 0.7:
            start = max(opens, FIRST)
            day = start + timedelta(days=rng.randint(0, max((due - start).days, 0)))
        elif roll < 0.9:
            day = due + timedelta(days=rng.randint(1, 30))
        else:
            continue  # never submitted
        events.setdefault(day, []).append(
            (
                "UPDATE obligation SET done_on = :d, status_as_of = NULL WHERE id = :i",
                {"d": day, "i": r.id},
            )
        )
    waived = [r.id for r in rows if r.gate == "self-check"][:3]
    for i in waived:
        events.setdefault(date(2017, 11, 6), []).append(
            (
                "UPDATE obligation SET waived = :w, status_as_of = NULL WHERE id = :i",
                {"w": True, "i": i},
            )
        )
    events.setdefault(date(2017, 11, 20), []).append(
        (
            "UPDATE obligation SET waived = :w, status_as_of = NULL WHERE id = :i",
            {"w": False, "i": waived[0]},
        )
    )
    cell = next(r.unit_id for r in rows if r.kind == "cell")
    events.setdefault(date(2017, 11, 13), []).append(
        ("UPDATE unit SET status = 'withdrawn' WHERE id = :i", {"i": cell})
    )
    return events


def _obligations(engine: Engine) -> list[Any]:
    with engine.connect() as conn:
        rows = conn.execute(text(f"SELECT {OBLIGATION_COLUMNS} FROM obligation ORDER BY id"))
        return [tuple(r) for r in rows]


def _outbox(engine: Engine) -> list[Any]:
    with engine.connect() as conn:
        rows = conn.execute(text(f"SELECT {OUTBOX_COLUMNS} FROM notification ORDER BY 1"))
        return [tuple(r) for r in rows]


def _replay(twin_urls: tuple[str, str], tmp_path: Path) -> tuple[Loaded, Loaded, int]:
    old_db, new_db = (
        load_seed(make_engine(url), tmp_path / name, cells=CELLS)
        for url, name in zip(twin_urls, ("old", "new"), strict=True)
    )
    events = _events(old_db)
    skipped = {d for d in days(FIRST, LAST) if Random(d.toordinal()).random() < 0.15}
    # The day before the self-check deadline: the next tick first sees those items with no
    # working day left, and must still send them their last reminder.
    skipped = (skipped | {date(2017, 10, 30)}) - {date(2017, 10, 31)}
    ticks = 0
    for day in days(FIRST, LAST):
        for sql, params in events.get(day, []):
            old_db.execute(sql, params)
            new_db.execute(sql, params)
        if day in skipped:
            continue
        old_plan = _old_tick(old_db, day)
        new_plan = evaluate_and_plan(new_db.engine, new_db.handle, day).plan
        assert _summary(new_plan) == _summary(old_plan), day
        assert _obligations(new_db.engine) == _obligations(old_db.engine), day
        ticks += 1
        if ticks % 20 == 0:
            vacuum_if_postgres(old_db.engine)
            vacuum_if_postgres(new_db.engine)
    return old_db, new_db, ticks


def test_a_replayed_campaign_plans_the_same_outbox_and_obligations(
    twin_urls: tuple[str, str], tmp_path: Path
) -> None:
    (tmp_path / "old").mkdir()
    (tmp_path / "new").mkdir()
    old_db, new_db, ticks = _replay(twin_urls, tmp_path)
    try:
        old_outbox, new_outbox = _outbox(old_db.engine), _outbox(new_db.engine)
        assert new_outbox == old_outbox
        kinds = {row[1] for row in new_outbox}
        # The replay moved every part of the planner, or the comparison proves little.
        assert kinds == {"reminder", "escalation", "digest"}
        assert {row[2] for row in new_outbox if row[1] == "escalation"} >= {1, 4}
        assert ticks > 150
    finally:
        old_db.engine.dispose()
        new_db.engine.dispose()

"""The whole 2017 seed campaign walked one day at a time, 2017-05-01 to 2017-11-30.

A deterministic simulator decides, for each of ~470 obligations of a 200-cell roster,
whether it is submitted on time (85%), late (10%) or never (5%), and on which day; each
submission is recorded (done_on) on its day, just before that day's tick. The outbox is
then checked against a model of the rules computed in Python from the working calendar:
every reminder, contact escalation and digest must be exactly the ones the rules call for.

The walk runs once per backend (module-scoped) and the tests below inspect its result.
"""

from __future__ import annotations

import os
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from random import Random
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from pingan.adapters.db.session import make_engine
from pingan.core.gates import reminder_bands
from tests.factories import (
    CAL,
    Loaded,
    as_date,
    days,
    expected_row,
    load_seed,
    seed_campaign,
    seed_ladder,
    vacuum_if_postgres,
)

pytestmark = pytest.mark.slow

FIRST, LAST = date(2017, 5, 1), date(2017, 11, 30)
CELLS = 200
PG_URL = os.environ.get("PINGAN_TEST_DATABASE_URL")


@dataclass
class Walk:
    db: Loaded
    plan: dict[int, date | None]  # obligation id → simulated submission day (None: never)
    kind: dict[int, str]  # obligation id → "on_time" | "late" | "never"
    obligations: dict[int, Any]  # final rows
    supervisor: dict[int, int]  # obligation id → supervisor unit id of the owing unit
    status_on: dict[date, dict[str, Any]]


@pytest.fixture(
    scope="module",
    params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)],
)
def walk_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    # The same databases as conftest's db_url, but shared by the tests of this module.
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('walk') / 'pingan.db'}"
        return
    if not PG_URL:
        pytest.skip("PostgreSQL 部分已跳过：未设置 PINGAN_TEST_DATABASE_URL")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in PG_URL else "?"
    try:
        yield f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def _simulate(rows: list[Any], rng: Random) -> tuple[dict[int, date | None], dict[int, str]]:
    plan: dict[int, date | None] = {}
    kind: dict[int, str] = {}
    for r in rows:
        roll = rng.random()
        if roll < 0.85:
            start = max(r.opens_on, FIRST)
            plan[r.id] = start + timedelta(days=rng.randint(0, (r.due_on - start).days))
            kind[r.id] = "on_time"
        elif roll < 0.95:
            latest = min(r.due_on + timedelta(days=25), LAST)
            plan[r.id] = r.due_on + timedelta(days=rng.randint(1, (latest - r.due_on).days))
            kind[r.id] = "late"
        else:
            plan[r.id] = None
            kind[r.id] = "never"
    return plan, kind


@pytest.fixture(scope="module")
def walk(walk_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Walk]:
    engine = make_engine(walk_url)
    db = load_seed(engine, tmp_path_factory.mktemp("roster"), cells=CELLS, seed=2017)
    rows = db.obligations()
    plan, kind = _simulate(rows, Random(2017))
    arrivals: dict[date, list[int]] = {}
    for oid, d in plan.items():
        if d is not None:
            arrivals.setdefault(d, []).append(oid)
    status_on: dict[date, dict[str, Any]] = {}
    for day in days(FIRST, LAST):
        if day in arrivals:
            db.execute(
                "UPDATE obligation SET done_on = :d WHERE id = :i",
                [{"d": day, "i": oid} for oid in arrivals[day]],
            )
        result = db.tick(day)
        status_on[day] = result.status
        vacuum_if_postgres(engine)
    final = {r.id: r for r in db.obligations()}
    supervisor = {r.id: r.supervisor_id for r in rows}
    yield Walk(db, plan, kind, final, supervisor, status_on)
    engine.dispose()


def _messaged(r: Any) -> bool:
    """Only gates the unit itself delivers (files) are reminded and escalated; assessment
    gates are the assessment team's work."""
    return seed_campaign().gate(r.gate).evidence == "files"


def _done_by(w: Walk, oid: int, day: date) -> bool:
    d = w.plan[oid]
    return d is not None and d <= day


# --- the simulation itself ------------------------------------------------------------------


def test_simulation_covers_the_campaign_with_the_intended_mix(walk: Walk) -> None:
    assert len(walk.obligations) > 400
    share = Counter(walk.kind.values())
    n = len(walk.kind)
    assert 0.80 < share["on_time"] / n < 0.90
    assert 0.06 < share["late"] / n < 0.14
    assert 0.02 < share["never"] / n < 0.09
    self_checks = [r for r in walk.obligations.values() if r.gate == "self-check"]
    assert any(walk.kind[r.id] == "never" for r in self_checks)


def test_final_rows_agree_with_the_pure_rules(walk: Walk) -> None:
    for r in walk.obligations.values():
        want = expected_row(LAST, r.opens_on, r.due_on, r.done_on, bool(r.waived))
        assert (r.status, r.wd_offset, r.days_overdue, r.escalation_level) == want, r
        assert as_date(r.done_on) == walk.plan[r.id]


# --- outbox ---------------------------------------------------------------------------------


def test_no_duplicate_dedupe_keys_or_repeated_messages(walk: Walk) -> None:
    notes = walk.db.notifications()
    keys = Counter(n.dedupe_key for n in notes)
    assert max(keys.values()) == 1
    per_item = Counter((n.kind, n.obligation_id, n.level) for n in notes if n.kind != "digest")
    assert max(per_item.values()) == 1
    per_day = Counter(
        (n.recipient_unit_id, as_date(n.planned_on)) for n in notes if n.kind == "digest"
    )
    assert max(per_day.values()) == 1


def test_never_submitted_self_checks_are_overdue_at_level_3_or_more_on_nov_30(walk: Walk) -> None:
    never = [
        r
        for r in walk.obligations.values()
        if r.gate == "self-check" and walk.kind[r.id] == "never"
    ]
    assert never
    for r in never:
        assert r.status == "overdue"
        assert r.escalation_level >= 3
        assert r.notified_level == r.escalation_level
        # (10-31, 11-30] holds 22 working days: rung 6 of the seed ladder.
        assert r.days_overdue == CAL.working_days_between(date(2017, 10, 31), LAST) == 22


def _left(due: date, day: date) -> int:
    return -CAL.working_days_between(due, day)


def test_reminders_are_exactly_those_the_working_calendar_calls_for(walk: Walk) -> None:
    bands = reminder_bands(seed_campaign().reminders.days_before)
    want = set()
    for r in filter(_messaged, walk.obligations.values()):
        for step, low, high in bands:
            first = next(
                (
                    d
                    for d in days(max(r.opens_on, FIRST), r.due_on)
                    if low <= _left(r.due_on, d) <= high
                ),
                None,
            )
            if first is not None and not _done_by(walk, r.id, first):
                want.add((r.id, step, first))
    got = {
        (n.obligation_id, n.level, as_date(n.planned_on)) for n in walk.db.notifications("reminder")
    }
    assert got == want
    for oid, step, day in got:
        r = walk.obligations[oid]
        assert r.opens_on <= day <= r.due_on
        low, high = next((lo, hi) for s, lo, hi in bands if s == step)
        assert low <= _left(r.due_on, day) <= high


def _level_timeline(w: Walk, r: Any) -> Iterator[tuple[date, int, int]]:
    """(day, level the day before, level that day) while the item is overdue and unsubmitted."""
    ladder = seed_ladder()
    previous = 0
    for d in days(r.due_on + timedelta(days=1), LAST):
        if _done_by(w, r.id, d):
            return
        level = ladder.level_for(CAL.working_days_between(r.due_on, d))
        yield d, previous, level
        previous = level


def test_contact_escalations_are_planned_on_the_day_each_rung_is_reached(walk: Walk) -> None:
    ladder = seed_ladder()
    want = set()
    for r in filter(_messaged, walk.obligations.values()):
        for d, before, now in _level_timeline(walk, r):
            want |= {
                (r.id, k, d) for k in range(before + 1, now + 1) if ladder.target(k) == "contact"
            }
    got = {
        (n.obligation_id, n.level, as_date(n.planned_on))
        for n in walk.db.notifications("escalation")
    }
    assert got == want
    for oid, level, day in got:
        assert CAL.working_days_between(walk.obligations[oid].due_on, day) == ladder.threshold(
            level
        )


def test_digests_go_once_a_day_to_supervisors_of_items_newly_at_their_rung(walk: Walk) -> None:
    ladder = seed_ladder()
    coordinator = walk.db.unit_id("zzw")
    want = set()
    for r in filter(_messaged, walk.obligations.values()):
        for d, before, now in _level_timeline(walk, r):
            for k in range(before + 1, now + 1):
                if ladder.target(k) == "lead":
                    want.add((walk.supervisor[r.id], d))
                elif ladder.target(k) == "coordinator":
                    want.add((coordinator, d))
    got = {(n.recipient_unit_id, as_date(n.planned_on)) for n in walk.db.notifications("digest")}
    assert got == want


def test_assessment_obligations_are_never_messaged(walk: Walk) -> None:
    assessed = {r.id for r in walk.obligations.values() if r.gate == "assessment"}
    assert assessed
    overdue = [r for r in walk.obligations.values() if r.id in assessed and r.status == "overdue"]
    assert overdue
    assert not assessed & {n.obligation_id for n in walk.db.notifications()}


def test_digests_only_go_to_lead_units_and_the_coordinator(walk: Walk) -> None:
    allowed = {
        r[0]
        for r in walk.db.rows(
            "SELECT u.id FROM unit u WHERE u.campaign_id = :c AND (u.kind = 'coordinator' "
            "OR u.id IN (SELECT unit_id FROM domain_unit WHERE role = 'lead'))"
        )
    }
    assert len(allowed) == 5
    recipients = {n.recipient_unit_id for n in walk.db.notifications("digest")}
    assert recipients
    assert recipients <= allowed


# --- status ---------------------------------------------------------------------------------


def _simulated_covered(w: Walk, as_of: date) -> int:
    return sum(
        1 for r in w.obligations.values() if r.gate == "self-check" and _done_by(w, r.id, as_of)
    )


@pytest.mark.parametrize("as_of", [date(2017, 10, 31), LAST])
def test_coverage_in_status_equals_the_simulated_share(walk: Walk, as_of: date) -> None:
    overall = walk.status_on[as_of]["overall"]
    covered = _simulated_covered(walk, as_of)
    assert overall["cells"] == CELLS
    assert overall["covered"] == covered
    assert overall["coverage"] == round(covered / CELLS, 4)


def test_status_on_nov_30_counts_every_obligation_once(walk: Walk) -> None:
    report = walk.status_on[LAST]
    want = Counter(r.status for r in walk.obligations.values())
    assert {k: v for k, v in report["obligations"].items() if v} == dict(want)
    assert report["notifications"]["queued"] == len(walk.db.notifications())

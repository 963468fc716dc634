"""pingan.adapters.db.evaluate applies pingan.core.gates to every row in SQL: the two must agree.

Random submissions and waivers are written into ~200 obligations of the seed campaign,
evaluate() runs as of a date, and every row is compared with status_of / Ladder.level_for
computed in Python with WorkingCalendar("cn").working_days_between(due_on, as_of).
Each example works inside one transaction that is rolled back, so examples are independent.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from random import Random

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from pingan.adapters.db.campaigns import WorkdayRow
from pingan.adapters.db.evaluate import evaluate
from pingan.adapters.db.obligations import ObligationRow
from tests.factories import CAL, Loaded, as_date, expected_row, load_seed, seed_campaign

OB = ObligationRow.__table__.c
WD = WorkdayRow.__table__.c

# Holiday edges of 2017: 端午 05-28..30 with make-up Sat 05-27; 国庆/中秋 10-01..08 with
# make-up Sat 09-30; the assessment gate is due on a Saturday (11-18).
EDGES = [
    date(2017, 1, 1),
    date(2017, 5, 1),
    date(2017, 5, 10),
    date(2017, 5, 12),
    date(2017, 5, 13),
    date(2017, 5, 15),
    date(2017, 5, 16),
    date(2017, 5, 22),
    date(2017, 5, 27),
    date(2017, 5, 30),
    date(2017, 9, 29),
    date(2017, 9, 30),
    date(2017, 10, 1),
    date(2017, 10, 8),
    date(2017, 10, 9),
    date(2017, 10, 26),
    date(2017, 10, 31),
    date(2017, 11, 1),
    date(2017, 11, 17),
    date(2017, 11, 18),
    date(2017, 11, 20),
    date(2017, 11, 30),
    date(2017, 12, 31),
    date(2018, 3, 1),
]
CELLS = 80  # about 200 obligations


@pytest.fixture
def seeded(engine: Engine, tmp_path: Path) -> Loaded:
    loaded = load_seed(engine, tmp_path, cells=CELLS, seed=11)
    assert 150 <= loaded.count("obligation") <= 260
    return loaded


def _randomise(session: Session, ids: list[tuple[int, date, date]], rng: Random) -> None:
    params = []
    for oid, opens_on, due_on in ids:
        roll = rng.random()
        done: date | None = None
        if roll < 0.6:
            done = opens_on + timedelta(days=rng.randint(-10, (due_on - opens_on).days + 40))
        waived = rng.random() < 0.12
        params.append({"i": oid, "d": done, "w": waived})
    session.execute(text("UPDATE obligation SET done_on = :d, waived = :w WHERE id = :i"), params)


def _mismatches(loaded: Loaded, as_of: date, seed: int) -> list[str]:
    campaign = seed_campaign()
    with Session(loaded.engine) as session:
        ids = [
            (r.id, r.opens_on, r.due_on)
            for r in session.execute(
                select(OB.id, OB.opens_on, OB.due_on).where(OB.campaign_id == loaded.cid)
            )
        ]
        _randomise(session, ids, Random(seed))
        evaluate(session, campaign, loaded.cid, as_of)
        rows = session.execute(
            select(
                OB.id,
                OB.opens_on,
                OB.due_on,
                OB.done_on,
                OB.waived,
                OB.status,
                OB.wd_offset,
                OB.days_overdue,
                OB.escalation_level,
                OB.status_as_of,
            ).where(OB.campaign_id == loaded.cid)
        ).all()
        session.rollback()
    bad = []
    for r in rows:
        want = expected_row(as_of, r.opens_on, r.due_on, r.done_on, bool(r.waived))
        got = (r.status, r.wd_offset, r.days_overdue, r.escalation_level)
        if got != want or r.status_as_of != as_of:
            bad.append(
                f"#{r.id} due {r.due_on} done {r.done_on} waived {r.waived}: {got} != {want}"
            )
    return bad


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    as_of=st.one_of(
        st.sampled_from(EDGES), st.dates(min_value=date(2017, 1, 1), max_value=date(2018, 6, 30))
    ),
    seed=st.integers(0, 2**32 - 1),
)
@example(as_of=date(2017, 9, 30), seed=1)
@example(as_of=date(2017, 10, 9), seed=2)
@example(as_of=date(2017, 11, 30), seed=3)
def test_sql_evaluation_agrees_with_pure_rules_on_random_obligations(
    seeded: Loaded, as_of: date, seed: int
) -> None:
    bad = _mismatches(seeded, as_of, seed)
    assert not bad, f"{len(bad)} rows disagree as of {as_of}:\n" + "\n".join(bad[:10])


@pytest.mark.parametrize("as_of", EDGES[::3])
def test_sql_evaluation_agrees_at_holiday_edges(seeded: Loaded, as_of: date) -> None:
    # A few fixed dates always run, whatever hypothesis draws.
    bad = _mismatches(seeded, as_of, seed=as_of.toordinal())
    assert not bad, "\n".join(bad[:10])


def test_workday_table_ordinals_count_working_days_like_the_calendar(seeded: Loaded) -> None:
    with seeded.engine.connect() as conn:
        rows = conn.execute(
            select(WD.day, WD.working, WD.ordinal)
            .where(WD.campaign_id == seeded.cid)
            .order_by(WD.day)
        ).all()
    assert rows[0].day == date(2017, 1, 1)
    first = rows[0].day
    assert {r.day.year for r in rows} >= {2017, 2018}
    for r in rows[: 366 + 365]:
        assert bool(r.working) == CAL.is_working_day(r.day), r.day
        assert r.ordinal - rows[0].ordinal == CAL.working_days_between(first, r.day), r.day


def test_make_up_saturday_counts_and_national_day_does_not(seeded: Loaded) -> None:
    with seeded.engine.connect() as conn:
        working = {
            day: bool(w)
            for day, w in conn.execute(
                select(WD.day, WD.working).where(
                    WD.campaign_id == seeded.cid,
                    WD.day.between(date(2017, 9, 29), date(2017, 10, 9)),
                )
            )
        }
    assert working[date(2017, 9, 30)]
    assert not any(working[date(2017, 10, d)] for d in range(1, 9))
    assert working[date(2017, 10, 9)]


def test_evaluation_beyond_the_loaded_calendar_is_refused(seeded: Loaded) -> None:
    from pingan.adapters.db.evaluate import CalendarNotLoaded

    last = as_date(seeded.scalar("SELECT max(day) FROM workday WHERE campaign_id = :c"))
    assert last is not None
    with Session(seeded.engine) as session, pytest.raises(CalendarNotLoaded, match="工作日历"):
        evaluate(session, seed_campaign(), seeded.cid, last + timedelta(days=1))

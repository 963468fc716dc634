"""The pure obligation rules: status as of a date, the escalation ladder, reminder bands."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pingan.core.gates import COLOURS, STATUSES, Ladder, Status, reminder_bands, status_of
from tests.factories import CAL, days, seed_campaign

# self-check in the seed: opens with the implement phase, due Tuesday 2017-10-31.
OPENS = date(2017, 5, 16)
DUE = date(2017, 10, 31)
WINDOW = 3
LADDER = Ladder(((1, "contact"), (3, "lead"), (5, "coordinator")), 5)


def status(
    as_of: date,
    *,
    done_on: date | None = None,
    waived: bool = False,
    opens_on: date = OPENS,
    due_on: date = DUE,
) -> Status:
    return status_of(
        as_of=as_of,
        opens_on=opens_on,
        due_on=due_on,
        done_on=done_on,
        waived=waived,
        wd_offset=CAL.working_days_between(due_on, as_of),
        window=WINDOW,
    )


# --- each status --------------------------------------------------------------------------


def test_before_the_gate_opens_status_is_not_open() -> None:
    assert status(date(2017, 5, 15)) == "not_open"


def test_on_the_opening_day_status_is_open() -> None:
    assert status(OPENS) == "open"


def test_four_working_days_before_due_status_is_still_open() -> None:
    # (10-25, 10-31] holds 26, 27, 30, 31: four working days left.
    assert status(date(2017, 10, 25)) == "open"


def test_three_working_days_before_due_status_is_due_soon() -> None:
    assert status(date(2017, 10, 26)) == "due_soon"


def test_on_the_due_date_status_is_due_soon() -> None:
    assert status(DUE) == "due_soon"


def test_the_day_after_due_status_is_overdue() -> None:
    assert status(DUE + timedelta(days=1)) == "overdue"


def test_submitted_on_or_before_due_status_is_done() -> None:
    assert status(date(2017, 11, 5), done_on=DUE) == "done"
    assert status(date(2017, 11, 5), done_on=date(2017, 6, 1)) == "done"


def test_submitted_after_due_status_is_done_late() -> None:
    assert status(date(2017, 11, 5), done_on=date(2017, 11, 1)) == "done_late"


def test_waived_obligation_status_is_waived_whatever_the_date() -> None:
    for d in (date(2017, 5, 1), OPENS, DUE, date(2017, 12, 31)):
        assert status(d, waived=True) == "waived"


def test_waived_beats_done() -> None:
    assert status(date(2017, 11, 5), done_on=date(2017, 6, 1), waived=True) == "waived"
    assert status(date(2017, 11, 5), done_on=date(2017, 11, 2), waived=True) == "waived"


def test_submission_dated_after_as_of_does_not_count_yet() -> None:
    assert status(date(2017, 10, 20), done_on=date(2017, 10, 30)) == "open"
    assert status(date(2017, 11, 2), done_on=date(2017, 11, 3)) == "overdue"


def test_submission_dated_exactly_as_of_counts() -> None:
    assert status(date(2017, 10, 30), done_on=date(2017, 10, 30)) == "done"


def test_submission_before_the_gate_opens_counts_as_done() -> None:
    assert status(date(2017, 5, 10), done_on=date(2017, 5, 2)) == "done"


def test_every_status_has_a_colour() -> None:
    assert set(COLOURS) == set(STATUSES)


# --- transitions over dates ---------------------------------------------------------------


def _timeline(**kwargs: object) -> list[tuple[date, Status]]:
    return [(d, status(d, **kwargs)) for d in days(date(2017, 5, 1), date(2017, 11, 30))]  # type: ignore[arg-type]


def _runs(timeline: list[tuple[date, Status]]) -> list[tuple[Status, date, date]]:
    runs: list[tuple[Status, date, date]] = []
    for d, s in timeline:
        if runs and runs[-1][0] == s:
            runs[-1] = (s, runs[-1][1], d)
        else:
            runs.append((s, d, d))
    return runs


def test_unsubmitted_obligation_goes_not_open_open_due_soon_overdue_once_each() -> None:
    assert _runs(_timeline()) == [
        ("not_open", date(2017, 5, 1), date(2017, 5, 15)),
        ("open", date(2017, 5, 16), date(2017, 10, 25)),
        ("due_soon", date(2017, 10, 26), date(2017, 10, 31)),
        ("overdue", date(2017, 11, 1), date(2017, 11, 30)),
    ]


def test_on_time_submission_turns_open_into_done_for_good() -> None:
    assert _runs(_timeline(done_on=date(2017, 9, 30))) == [
        ("not_open", date(2017, 5, 1), date(2017, 5, 15)),
        ("open", date(2017, 5, 16), date(2017, 9, 29)),
        ("done", date(2017, 9, 30), date(2017, 11, 30)),
    ]


def test_late_submission_turns_overdue_into_done_late_for_good() -> None:
    assert _runs(_timeline(done_on=date(2017, 11, 7)))[-2:] == [
        ("overdue", date(2017, 11, 1), date(2017, 11, 6)),
        ("done_late", date(2017, 11, 7), date(2017, 11, 30)),
    ]


def test_due_soon_window_counts_working_days_across_national_day() -> None:
    # Due Mon 10-09 after the 10-01..08 holiday: 09-30 (make-up Saturday) is 1 working day
    # before, 09-28 is 3 before, 09-27 is 4 before.
    due = date(2017, 10, 9)
    got = {d: status(d, due_on=due) for d in days(date(2017, 9, 26), due)}
    assert got[date(2017, 9, 27)] == "open"
    assert all(got[d] == "due_soon" for d in days(date(2017, 9, 28), due))


def test_weekend_after_friday_due_is_overdue_with_zero_working_days() -> None:
    due = date(2017, 5, 12)  # Friday
    sat = date(2017, 5, 13)
    assert status(sat, opens_on=date(2017, 5, 1), due_on=due) == "overdue"
    assert CAL.working_days_between(due, sat) == 0
    assert LADDER.level_for(0) == 0


# --- ladder -------------------------------------------------------------------------------


def test_seed_ladder_is_one_three_five_repeating_every_five() -> None:
    assert Ladder.of(seed_campaign()) == LADDER


@pytest.mark.parametrize(
    ("days_overdue", "level"),
    [(0, 0), (1, 1), (2, 1), (3, 2), (4, 2), (5, 3), (9, 3), (10, 4), (14, 4), (15, 5), (20, 6)],
)
def test_level_for_at_each_boundary(days_overdue: int, level: int) -> None:
    assert LADDER.level_for(days_overdue) == level


@pytest.mark.parametrize(
    ("level", "target"),
    [
        (1, "contact"),
        (2, "lead"),
        (3, "coordinator"),
        (4, "contact"),
        (5, "lead"),
        (6, "coordinator"),
        (7, "contact"),
    ],
)
def test_target_cycles_contact_lead_coordinator(level: int, target: str) -> None:
    assert LADDER.target(level) == target


@pytest.mark.parametrize(("level", "after"), [(1, 1), (2, 3), (3, 5), (4, 10), (5, 15), (6, 20)])
def test_threshold_is_working_days_overdue_for_each_level(level: int, after: int) -> None:
    assert LADDER.threshold(level) == after


def test_first_level_of_each_target() -> None:
    assert LADDER.first_level("contact") == 1
    assert LADDER.first_level("lead") == 2
    assert LADDER.first_level("coordinator") == 3
    assert Ladder(((1, "contact"),), None).first_level("lead") is None


def test_ladder_without_repeat_stops_at_its_last_rung() -> None:
    once = Ladder(((1, "contact"), (3, "lead")), None)
    assert [once.level_for(d) for d in (0, 1, 3, 4, 100)] == [0, 1, 2, 2, 2]
    with pytest.raises(ValueError):
        once.threshold(3)


def test_threshold_of_level_zero_is_zero_or_rejected() -> None:
    try:
        value = LADDER.threshold(0)
    except ValueError:
        return
    assert value == 0


@st.composite
def ladders(draw: st.DrawFn) -> Ladder:
    afters = draw(st.lists(st.integers(1, 60), min_size=1, max_size=6, unique=True))
    targets = draw(
        st.lists(
            st.sampled_from(["contact", "lead", "coordinator"]),
            min_size=len(afters),
            max_size=len(afters),
        )
    )
    repeat = draw(st.one_of(st.none(), st.integers(1, 30)))
    return Ladder(tuple(zip(sorted(afters), targets, strict=True)), repeat)  # type: ignore[arg-type]


@given(ladders(), st.integers(0, 400), st.integers(0, 400))
def test_level_for_is_monotonic(ladder: Ladder, a: int, b: int) -> None:
    lo, hi = sorted((a, b))
    assert ladder.level_for(lo) <= ladder.level_for(hi)


@given(ladders(), st.integers(0, 400))
def test_threshold_of_level_for_never_exceeds_days_overdue(ladder: Ladder, d: int) -> None:
    level = ladder.level_for(d)
    if level == 0:
        assert d < ladder.steps[0][0]
        return
    assert ladder.threshold(level) <= d


@given(ladders(), st.integers(0, 400))
def test_next_level_is_not_yet_reached(ladder: Ladder, d: int) -> None:
    level = ladder.level_for(d)
    try:
        nxt = ladder.threshold(level + 1)
    except ValueError:
        assert ladder.repeat_every is None
        return
    assert nxt > d


@given(st.integers(1, 400))
def test_seed_ladder_level_is_reached_on_its_threshold_day(level: int) -> None:
    assert LADDER.level_for(LADDER.threshold(level)) == level
    assert LADDER.level_for(LADDER.threshold(level) - 1) == level - 1


# --- reminder bands -----------------------------------------------------------------------


def test_seed_reminder_bands_are_three_then_one() -> None:
    assert reminder_bands([3, 1]) == [(3, 2, 3), (1, 0, 1)]


def test_reminder_bands_ignore_order_and_duplicates() -> None:
    assert reminder_bands([1, 3, 3]) == reminder_bands([3, 1])


@given(st.lists(st.integers(1, 60), min_size=1, max_size=8))
def test_reminder_bands_do_not_overlap_and_cover_zero_to_the_largest(steps: list[int]) -> None:
    bands = reminder_bands(steps)
    covered: list[int] = []
    for step, low, high in bands:
        assert low <= step == high
        covered.extend(range(low, high + 1))
    assert sorted(covered) == list(range(0, max(steps) + 1))
    assert [b[0] for b in bands] == sorted(set(steps), reverse=True)

"""RRULE strings for the deployments' schedules, from a campaign's dates and working days.

DTSTART, UNTIL, RDATE and EXDATE are floating local times: Prefect's RRuleSchedule labels
them with the schedule's timezone (the campaign's), so "09:00" is nine in the campaign's
local time whatever the server's zone. Working-day rules are a weekday rule plus the
calendar's exceptions: EXDATE for holidays on weekdays, RDATE for make-up (调休) working
days on weekends — short enough for Prefect's 6,500-character limit over a whole year.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date, datetime, time, timedelta

from pingan.core.rest_days import next_working_day
from pingan.core.timeofday import QuietHours

WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
IsWorking = Callable[[date], bool]


def stamp(d: date, t: time) -> str:
    return datetime.combine(d, t).strftime("%Y%m%dT%H%M%S")


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def _dates_line(name: str, days: Iterable[date], at: time) -> list[str]:
    stamps = [stamp(d, at) for d in sorted(set(days))]
    return [f"{name}:{','.join(stamps)}"] if stamps else []


def daily(first: date, last: date, at: time) -> str:
    return f"DTSTART:{stamp(first, at)}\nRRULE:FREQ=DAILY;UNTIL={stamp(last, at)}"


def working_days(first: date, last: date, at: time, is_working: IsWorking) -> str:
    """Every working day from ``first`` to ``last`` at ``at``: Monday to Friday, without
    the weekday holidays, with the weekend make-up days."""
    days = _days(first, last)
    start = next((d for d in days if d.weekday() < 5), first)
    holidays = [d for d in days if d.weekday() < 5 and not is_working(d)]
    makeup = [d for d in days if d.weekday() >= 5 and is_working(d)]
    lines = [
        f"DTSTART:{stamp(start, at)}",
        f"RRULE:FREQ=DAILY;BYDAY=MO,TU,WE,TH,FR;UNTIL={stamp(last, at)}",
        *_dates_line("RDATE", makeup, at),
        *_dates_line("EXDATE", holidays, at),
    ]
    return "\n".join(lines)


def once(day: date, at: time) -> str:
    return f"DTSTART:{stamp(day, at)}\nRRULE:FREQ=DAILY;COUNT=1"


def weekly(first: date, last: date, weekday: str, at: time, is_working: IsWorking) -> str:
    """Weekly on ``weekday``; a week whose day is a holiday runs on its next working day
    instead (EXDATE the holiday, RDATE the replacement, within the campaign)."""
    # DTSTART on the first such weekday: RFC 5545 counts DTSTART as an occurrence even
    # when it does not match BYDAY, and dateutil follows the rule, not that quirk — be
    # unambiguous for both readers.
    start = first + timedelta(days=(WEEKDAYS.index(weekday) - first.weekday()) % 7)
    regular = [d for d in _days(start, last) if d.weekday() == start.weekday()]
    moved = [d for d in regular if not is_working(d)]
    instead = [r for r in (next_working_day(d, is_working) for d in moved) if r <= last]
    return "\n".join(
        [
            f"DTSTART:{stamp(start, at)}",
            f"RRULE:FREQ=WEEKLY;BYDAY={weekday};UNTIL={stamp(last, time(23, 59, 59))}",
            *_dates_line("RDATE", [d for d in instead if d not in regular], at),
            *_dates_line("EXDATE", moved, at),
        ]
    )


def every_minutes(first: date, last: date, step: int, quiet_hours: QuietHours | None) -> str:
    """Every ``step`` minutes, at half a step past each slot (so never together with the
    tick on the hour), in the hours whose slots are all outside the quiet hours (read as
    the dispatcher reads them: [start, end), wrapping midnight)."""
    offset = step // 2 if step < 60 else 30
    minutes = list(range(offset, 60, step)) if step < 60 else [offset]
    free = quiet_hours.free_minutes() if quiet_hours is not None else [(0, 24 * 60)]
    hours = [
        h for h in range(24) if all(any(lo <= h * 60 + m < hi for lo, hi in free) for m in minutes)
    ]
    if not hours:
        raise ValueError(f"免打扰时段 {quiet_hours} 覆盖全天，无法安排投递")
    start = time(hours[0], minutes[0])
    return (
        f"DTSTART:{stamp(first, start)}\n"
        f"RRULE:FREQ=DAILY;BYHOUR={','.join(map(str, hours))};"
        f"BYMINUTE={','.join(map(str, minutes))};BYSECOND=0;"
        f"UNTIL={stamp(last, time(23, 59, 59))}"
    )

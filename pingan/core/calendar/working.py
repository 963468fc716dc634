"""The working-day arithmetic: which days count, and counting them, per calendar mode."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Literal, get_args

import chinese_calendar
import pendulum

from pingan.core.calendar.overrides import CalendarError, YearOverride, load_overrides

CalendarMode = Literal["cn", "weekdays", "calendar"]

_MODES: tuple[str, ...] = get_args(CalendarMode)
_DEFAULT_DIR_LABEL = "config/calendars"


def today_in(tz: str) -> date:
    """Today's date in the IANA time zone ``tz`` (e.g. ``Asia/Shanghai``)."""
    try:
        now = pendulum.now(tz)
    except (ValueError, LookupError):
        raise ValueError(f"无法识别的时区 {tz!r}，应为 IANA 时区名，例如 Asia/Shanghai") from None
    # Strip the pendulum subclass so pendulum types never leak out of this module.
    return date(now.year, now.month, now.day)


@dataclass(frozen=True)
class _YearTable:
    jan1: int  # proleptic ordinal of 1 January
    working: tuple[bool, ...]  # by day of year, 0-based
    cumulative: tuple[int, ...]  # working days in [1 Jan, day], inclusive

    @property
    def total(self) -> int:
        return self.cumulative[-1]


_LIB_COVERAGE: dict[int, bool] = {}


def _library_covers(year: int) -> bool:
    if year not in _LIB_COVERAGE:
        # Probing instead of reading chinese_calendar's private tables keeps us
        # correct when a new release extends the range.
        try:
            chinese_calendar.is_workday(date(year, 6, 1))
        except NotImplementedError:
            _LIB_COVERAGE[year] = False
        else:
            _LIB_COVERAGE[year] = True
    return _LIB_COVERAGE[year]


def _library_range() -> str:
    covered = [y for y in range(1990, 2100) if _library_covers(y)]
    if not covered:
        return "chinese-calendar 不覆盖任何年份"
    return f"chinese-calendar 仅覆盖 {covered[0]}–{covered[-1]} 年"


class WorkingCalendar:
    """Answers working-day questions for one mode; results are cached per year."""

    def __init__(
        self,
        mode: CalendarMode = "cn",
        overrides: Mapping[int, YearOverride] | None = None,
        *,
        overrides_dir: Path | None = None,
    ) -> None:
        if mode not in _MODES:
            raise CalendarError(f"未知的工作日历模式 {mode!r}，应为 {'、'.join(_MODES)} 之一")
        overrides = dict(overrides or {})
        for key, override in overrides.items():
            if key != override.year:
                raise CalendarError(f"工作日历覆盖数据的键 {key} 与其 year {override.year} 不一致")
        self.mode: CalendarMode = mode
        self.overrides: Mapping[int, YearOverride] = overrides
        # Only used to tell the operator where the missing file should go.
        self._overrides_dir = overrides_dir
        self._tables: dict[int, _YearTable] = {}

    @classmethod
    def from_config(cls, mode: CalendarMode, overrides_dir: Path | None) -> WorkingCalendar:
        return cls(mode, load_overrides(overrides_dir), overrides_dir=overrides_dir)

    def __repr__(self) -> str:
        years = sorted(self.overrides)
        return f"WorkingCalendar(mode={self.mode!r}, override_years={years!r})"

    # ---------------------------------------------------------------- coverage

    def covers_year(self, year: int) -> bool:
        if self.mode != "cn":
            return True
        return year in self.overrides or _library_covers(year)

    def _uncovered_message(self, year: int) -> str:
        where = self._overrides_dir.as_posix() if self._overrides_dir else _DEFAULT_DIR_LABEL
        return (
            f"工作日历无法确定 {year} 年的节假日安排：{_library_range()}，"
            f"且 {where}/ 下没有 {year}.yaml"
        )

    def check_years(self, years: Iterable[int]) -> list[str]:
        return [self._uncovered_message(y) for y in sorted(set(years)) if not self.covers_year(y)]

    # ---------------------------------------------------------------- per-day

    def _is_working_uncached(self, d: date) -> bool:
        if self.mode == "calendar":
            return True
        if self.mode == "weekdays":
            return d.weekday() < 5
        override = self.overrides.get(d.year)
        if override is not None:
            if d in override.holidays:
                return False
            if d in override.workdays:
                return True
        if _library_covers(d.year):
            return bool(chinese_calendar.is_workday(d))
        if override is not None:
            return d.weekday() < 5
        raise CalendarError(self._uncovered_message(d.year))

    def _table(self, year: int) -> _YearTable:
        table = self._tables.get(year)
        if table is None:
            if not self.covers_year(year):
                raise CalendarError(self._uncovered_message(year))
            start = date(year, 1, 1)
            days = (date(year, 12, 31) - start).days + 1
            working = tuple(
                self._is_working_uncached(start + timedelta(days=i)) for i in range(days)
            )
            cumulative: list[int] = []
            running = 0
            for flag in working:
                running += flag
                cumulative.append(running)
            table = _YearTable(start.toordinal(), working, tuple(cumulative))
            # Built completely before publishing, so concurrent readers never
            # see a half-filled year; a duplicate build is harmless.
            self._tables[year] = table
        return table

    def is_working_day(self, d: date) -> bool:
        table = self._table(d.year)
        return table.working[d.toordinal() - table.jan1]

    def _cumulative(self, d: date) -> int:
        table = self._table(d.year)
        return table.cumulative[d.toordinal() - table.jan1]

    # ---------------------------------------------------------------- arithmetic

    def add_working_days(self, d: date, n: int) -> date:
        """n > 0: the n-th working day after ``d``; n < 0: before; n == 0: ``d``.

        ``working_days_between(d, add_working_days(d, n)) == n`` except for
        n < 0 from a non-working ``d``, where it is n + 1: ``(target, d]`` has
        no working ``d`` to count.  Both definitions are kept because the
        between-count must match the SQL ordinal table, and "one working day
        before Sunday" must still be Friday.
        """
        step = timedelta(days=1 if n > 0 else -1)
        remaining = abs(n)
        current = d
        while remaining:
            current += step
            if self.is_working_day(current):
                remaining -= 1
        return current

    def working_days_between(self, start: date, end: date) -> int:
        """Working days in ``(start, end]``; negated when ``end < start``."""
        if end < start:
            return -self.working_days_between(end, start)
        if end == start:
            return 0
        count = self._cumulative(end) - self._cumulative(start)
        for year in range(start.year, end.year):
            count += self._table(year).total
        return count

    def working_day_table(self, start: date, end: date) -> list[tuple[date, bool, int]]:
        """Rows ``(day, is_working, ordinal)`` for every day in ``[start, end]``.

        ``ordinal`` counts working days in ``[start, day]``, so for two days in
        the table ``ordinal(b) - ordinal(a) == working_days_between(a, b)``.
        Empty when ``end < start``.
        """
        rows: list[tuple[date, bool, int]] = []
        ordinal = 0
        current = start
        one = timedelta(days=1)
        while current <= end:
            working = self.is_working_day(current)
            ordinal += working
            rows.append((current, working, ordinal))
            current += one
        return rows

"""Working-day calendar: which days count when a deadline says "N 个工作日".

Three modes:

* ``cn`` — China's statutory holidays and 调休 make-up workdays, taken from the
  ``chinese-calendar`` package; a per-year override file takes precedence.
* ``weekdays`` — Monday to Friday, every year.
* ``calendar`` — every day is a working day, every year.

In ``cn`` mode a year that ``chinese-calendar`` does not know (it only ships the
State Council announcements it was released with) must have an override file;
otherwise :class:`CalendarError` is raised.  We never guess, because a guessed
holiday schedule silently shifts every deadline and overdue count of a campaign.

Override files live in one directory (normally ``config/calendars/``), one file
per year, named ``<year>.yaml`` (``.yml`` is accepted too)::

    year: 2027                 # must equal the file name
    source: 国办发明电〔2026〕X号  # optional, free text: where the data came from
    holidays:                  # non-working days besides weekends; single dates or ranges
      - 2027-01-01
      - {from: 2027-02-06, to: 2027-02-12, name: 春节}
    workdays:                  # 调休: weekend days that are working days
      - 2027-02-14

Dates are strict ``YYYY-MM-DD``; ranges are inclusive and ``name`` is only a
note for humans.  ``holidays`` and ``workdays`` may be omitted or empty.

* For a year ``chinese-calendar`` does not cover, a day is working iff it is
  (a weekday and not in ``holidays``) or in ``workdays``.
* For a covered year the file corrects individual days: a listed holiday is
  non-working, a listed workday is working, every other day follows
  ``chinese-calendar``.

Overrides are only consulted in ``cn`` mode.

This is the only module of the project that imports pendulum, so that time-zone
handling has one home; it hands out plain :class:`datetime.date` objects only.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Literal, get_args

import chinese_calendar
import pendulum
import yaml

__all__ = [
    "CalendarError",
    "CalendarMode",
    "WorkingCalendar",
    "YearOverride",
    "load_overrides",
    "parse_date",
    "today_in",
]

CalendarMode = Literal["cn", "weekdays", "calendar"]

_MODES: tuple[str, ...] = get_args(CalendarMode)
_DATE_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_TOP_KEYS = frozenset({"year", "source", "holidays", "workdays"})
_RANGE_KEYS = frozenset({"from", "to", "name"})
_DEFAULT_DIR_LABEL = "config/calendars"


class CalendarError(ValueError):
    """The calendar cannot answer reliably (uncovered year, bad override file)."""


@dataclass(frozen=True)
class YearOverride:
    year: int
    holidays: frozenset[date]
    workdays: frozenset[date]


def parse_date(text: str) -> date:
    """Parse a strict ``YYYY-MM-DD`` date."""
    # A regex first: date.fromisoformat also takes "20270101" and week dates,
    # which in a hand-written file are far more likely typos than intent.
    if not isinstance(text, str) or not _DATE_RE.fullmatch(text):
        raise ValueError(f"日期 {text!r} 格式不正确，应为 YYYY-MM-DD，例如 2027-01-01")
    try:
        return date(int(text[0:4]), int(text[5:7]), int(text[8:10]))
    except ValueError:
        raise ValueError(f"日期 {text!r} 不存在（月份或日期超出范围）") from None


def today_in(tz: str) -> date:
    """Today's date in the IANA time zone ``tz`` (e.g. ``Asia/Shanghai``)."""
    try:
        now = pendulum.now(tz)
    except (ValueError, LookupError):
        raise ValueError(f"无法识别的时区 {tz!r}，应为 IANA 时区名，例如 Asia/Shanghai") from None
    # Strip the pendulum subclass so pendulum types never leak out of this module.
    return date(now.year, now.month, now.day)


# --------------------------------------------------------------------------- overrides


class _StringDateLoader(yaml.SafeLoader):
    """SafeLoader that leaves timestamps as strings.

    PyYAML would turn ``2027-1-1`` into a date and crash with a bare ValueError
    on ``2027-02-30``; keeping strings lets :func:`parse_date` apply one strict
    rule and produce one kind of message.
    """


_StringDateLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _file_error(path: Path, detail: str) -> CalendarError:
    return CalendarError(f"工作日历覆盖文件 {path} 有误：{detail}")


def _parse_dates(path: Path, key: str, items: Any, year: int) -> frozenset[date]:
    if items is None:
        return frozenset()
    if not isinstance(items, list):
        raise _file_error(path, f"{key} 应为列表，实际为 {type(items).__name__}")
    days: set[date] = set()
    for item in items:
        if isinstance(item, dict):
            unknown = sorted(str(k) for k in item if k not in _RANGE_KEYS)
            if unknown:
                raise _file_error(
                    path, f"{key} 中的区间含未知字段 {', '.join(unknown)}（允许 from、to、name）"
                )
            if "from" not in item or "to" not in item:
                raise _file_error(path, f"{key} 中的区间必须同时写 from 和 to：{item!r}")
            first = _parse_one(path, key, item["from"], year)
            last = _parse_one(path, key, item["to"], year)
            if last < first:
                raise _file_error(path, f"{key} 中的区间 from {first} 晚于 to {last}")
            days.update(first + timedelta(days=i) for i in range((last - first).days + 1))
        else:
            days.add(_parse_one(path, key, item, year))
    return frozenset(days)


def _parse_one(path: Path, key: str, value: Any, year: int) -> date:
    if not isinstance(value, str):
        raise _file_error(path, f"{key} 中的 {value!r} 不是 YYYY-MM-DD 格式的日期")
    try:
        day = parse_date(value)
    except ValueError as exc:
        raise _file_error(path, f"{key} 中的{exc}") from None
    if day.year != year:
        raise _file_error(path, f"{key} 中的日期 {day} 不在 {year} 年内")
    return day


def _load_override_file(path: Path, year: int) -> YearOverride:
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_StringDateLoader)
    except (OSError, UnicodeDecodeError) as exc:
        raise _file_error(path, f"无法读取（{exc}）") from None
    except yaml.YAMLError as exc:
        one_line = " ".join(str(exc).split())
        raise _file_error(path, f"不是合法的 YAML（{one_line}）") from None
    if not isinstance(data, dict):
        raise _file_error(path, "顶层应为包含 year、holidays、workdays 的映射")
    unknown = sorted(str(k) for k in data if k not in _TOP_KEYS)
    if unknown:
        raise _file_error(
            path, f"含未知字段 {', '.join(unknown)}（允许 year、source、holidays、workdays）"
        )
    declared = data.get("year")
    # bool is an int subclass; `year: yes` must not pass as year 1.
    if not isinstance(declared, int) or isinstance(declared, bool):
        raise _file_error(path, f"缺少 year 字段或其值不是整数（应为 {year}）")
    if declared != year:
        raise _file_error(path, f"year 写的是 {declared}，与文件名 {year} 不一致")
    if not isinstance(data.get("source", ""), str):
        raise _file_error(path, "source 应为一行文字，注明放假安排的出处")
    holidays = _parse_dates(path, "holidays", data.get("holidays"), year)
    workdays = _parse_dates(path, "workdays", data.get("workdays"), year)
    both = sorted(holidays & workdays)
    if both:
        listed = "、".join(d.isoformat() for d in both)
        raise _file_error(path, f"日期 {listed} 同时出现在 holidays 和 workdays 中")
    return YearOverride(year=year, holidays=holidays, workdays=workdays)


def load_overrides(directory: Path | None) -> dict[int, YearOverride]:
    """Read every ``<year>.yaml`` / ``<year>.yml`` file in ``directory``.

    A missing directory means "no overrides": the repository may not ship any,
    and an uncovered year still fails loudly later, naming the directory.
    """
    if directory is None or not directory.exists():
        return {}
    if not directory.is_dir():
        raise CalendarError(f"工作日历覆盖目录 {directory} 不是目录")
    found: dict[int, YearOverride] = {}
    seen: dict[int, Path] = {}
    for path in sorted(directory.iterdir()):
        if path.suffix not in (".yaml", ".yml") or not path.is_file():
            continue
        # A misnamed file would otherwise be skipped and its data silently unused.
        if not re.fullmatch(r"[0-9]{4}", path.stem):
            raise _file_error(path, "文件名应为四位年份，例如 2027.yaml")
        year = int(path.stem)
        if year in seen:
            raise _file_error(path, f"{year} 年已由 {seen[year]} 定义，同一年只能有一个文件")
        seen[year] = path
        found[year] = _load_override_file(path, year)
    return found


# --------------------------------------------------------------------------- calendar


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

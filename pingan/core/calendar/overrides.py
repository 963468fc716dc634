"""Per-year override files: ``<year>.yaml`` with the holidays and 调休 workdays of a year
that chinese-calendar does not know, or corrections to one it does (format: the package
docstring)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import yaml

from pingan.core.bounded_yaml import YamlTooBig, load_bounded, read_capped

_DATE_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_TOP_KEYS = frozenset({"year", "source", "holidays", "workdays"})
_RANGE_KEYS = frozenset({"from", "to", "name"})


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
        data = load_bounded(read_capped(path).decode("utf-8"), _StringDateLoader)
    except YamlTooBig as exc:
        raise _file_error(path, str(exc)) from None
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

"""Open a campaign file, validate it against the model and the rules, and check that the
working calendar covers its years; every problem is reported at once (InputError)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import ValidationError

from pingan.core.calendar import CalendarError, WorkingCalendar, load_overrides
from pingan.core.campaign.errors import MAX_SHOWN, control_problems, pydantic_problems
from pingan.core.campaign.model import Campaign
from pingan.core.campaign.rules import semantic_problems
from pingan.core.campaign.yaml_file import read_yaml
from pingan.core.problems import InputError, Problem


def parse_campaign(data: Any, source: str) -> Campaign:
    if not isinstance(data, dict):
        raise InputError([Problem(source, "", "文件内容应为一组字段（YAML 映射）")])
    problems = control_problems(data, source)
    try:
        campaign = Campaign.model_validate(data)
    except ValidationError as err:
        raise InputError(problems + pydantic_problems(source, err)) from None
    if problems:
        raise InputError(problems)
    return campaign


def load_campaign(path: Path | str, *, check_calendar: bool = True) -> Campaign:
    """Read, validate and cross-check a campaign file; raise InputError listing every problem."""
    path = Path(path)
    campaign = parse_campaign(read_yaml(path), str(path))
    problems = semantic_problems(campaign, str(path))
    if check_calendar:
        problems += calendar_problems(campaign, path)
    if campaign.templates_dir is not None:
        # Stored absolute, so the database copy of the campaign still finds the templates.
        try:
            templates = (path.parent / campaign.templates_dir).resolve()
        except _BAD_PATH:
            problems.append(Problem(str(path), "templates_dir", _bad_dir(campaign.templates_dir)))
        else:
            if not templates.is_dir():
                problems.append(Problem(str(path), "templates_dir", f"模板目录 {templates} 不存在"))
            campaign = campaign.model_copy(update={"templates_dir": str(templates)})
    if problems:
        raise InputError(problems)
    return campaign


def overrides_dir(campaign: Campaign, path: Path) -> Path:
    return (path.parent / campaign.calendar.overrides_dir).resolve()


def working_calendar(campaign: Campaign, path: Path | None) -> WorkingCalendar:
    directory = overrides_dir(campaign, path) if path is not None else None
    return WorkingCalendar.from_config(campaign.calendar.mode, directory)


_MAX_YEAR_PROBLEMS = 3
# Path.resolve: ValueError for a NUL, RuntimeError for a symlink loop, OSError otherwise.
_BAD_PATH = (ValueError, RuntimeError, OSError)


def _bad_dir(value: str) -> str:
    return f"目录路径 {value[:MAX_SHOWN]!r} 无效（含有不允许的字符或无法解析）"


def calendar_problems(campaign: Campaign, path: Path) -> list[Problem]:
    source = str(path)
    try:
        directory = overrides_dir(campaign, path)
    except _BAD_PATH:
        return [
            Problem(source, "calendar.overrides_dir", _bad_dir(campaign.calendar.overrides_dir))
        ]
    try:
        cal = WorkingCalendar(
            campaign.calendar.mode, load_overrides(directory), overrides_dir=directory
        )
    except CalendarError as exc:
        return [Problem(source, "calendar.overrides_dir", str(exc))]
    except OSError as exc:
        return [
            Problem(source, "calendar.overrides_dir", f"无法读取工作日历覆盖目录：{exc.strerror}")
        ]
    messages = cal.check_years(campaign.years())
    if len(messages) > _MAX_YEAR_PROBLEMS:
        # A typo such as 0017 for 2017 would otherwise list two thousand years one by one.
        rest = len(messages) - _MAX_YEAR_PROBLEMS
        messages = [
            *messages[:_MAX_YEAR_PROBLEMS],
            f"另有 {rest} 个年份同样无法确定节假日安排，请核对各阶段的日期",
        ]
    return [Problem(source, "calendar", p) for p in messages]

"""Campaign schema and loader.

A campaign YAML (see docs/campaign.md) is parsed into a frozen pydantic model, then checked
for cross-references and dates. Every problem is collected and reported with the file and the
field path; nothing here raises a bare pydantic or YAML traceback at a user.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import date
from itertools import pairwise
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from pingan.core.calendar import CalendarError, WorkingCalendar, load_overrides
from pingan.core.problems import InputError, Problem

_CODE = r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}"
_KEY = r"[a-z][a-z0-9_-]{0,63}"
Code = Annotated[str, Field(pattern=f"^{_CODE}$")]
Key = Annotated[str, Field(pattern=f"^{_KEY}$")]
Text = Annotated[str, Field(min_length=1, max_length=500)]
# Shorter where the text becomes a database column: unit.name, domain.name and phase.name
# are 200 characters, unit.category 64 (PostgreSQL refuses longer values at load time).
Name = Annotated[str, Field(min_length=1, max_length=200)]
Category = Annotated[str, Field(min_length=1, max_length=64)]
# award.number: the formatted certificate number.
_AWARD_NUMBER_CHARS = 100

# Who can owe a gate. "cells" may be narrowed to some domains with Gate.domains.
OwedBy = Literal["coordinator", "lead_units", "participants", "villages", "cells"]
LadderTarget = Literal["contact", "lead", "coordinator"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Office(_Model):
    name: Text
    phone: str | None = None
    fax: str | None = None
    email: str | None = None


class Coordinator(_Model):
    code: Code
    name: Name
    office: Office | None = None


class UnitDef(_Model):
    """An organisation named in the campaign document (lead units, participating units)."""

    code: Code
    name: Name
    group: bool = Field(
        default=False,
        description="True when the document names a group of units without listing members",
    )
    note: str | None = None


class Criterion(_Model):
    key: Key
    name: Text
    points: float = Field(gt=0)
    description: str | None = None


class Deduction(_Model):
    """Points taken off per occurrence, capped, e.g. 每发生一起扣 5 分, 最多扣 20 分."""

    key: Key
    name: Text
    points_each: float = Field(gt=0)
    max_points: float = Field(gt=0)


class Veto(_Model):
    """一票否决: any one occurrence fails the cell whatever its score."""

    key: Key
    name: Text


class Rubric(_Model):
    total: float = Field(gt=0)
    pass_mark: float = Field(gt=0)
    criteria: list[Criterion] = Field(min_length=1)
    deductions: list[Deduction] = []
    vetoes: list[Veto] = []
    assumed: bool = False
    note: str | None = None


class Domain(_Model):
    key: Key
    name: Name
    lead: Code
    participants: list[Code] = []
    cell_categories: list[Category] = Field(min_length=1)
    title: Text = Field(description="命名挂牌 title awarded to a passed cell, e.g. 平安校园")
    rubric: Rubric
    description: str | None = None


class Phase(_Model):
    key: Key
    name: Name
    starts_on: date
    ends_on: date
    assumed: bool = False
    note: str | None = None


class Gate(_Model):
    key: Key
    name: Text
    phase: Key
    deliverable: Key = Field(description="material kind; the inbox folder name")
    owed_by: list[OwedBy] = Field(min_length=1)
    domains: list[Key] | None = None
    opens_on: date | None = None
    due_on: date
    evidence: Literal["files", "assessment"] = "files"
    assumed: bool = False
    note: str | None = None


class Targets(_Model):
    coverage: float
    pass_rate: float
    coverage_gate: Key = Field(description="gate whose accepted submission counts a cell covered")


class Reminders(_Model):
    days_before: list[Annotated[int, Field(ge=1, le=60)]] = Field(default=[3, 1], min_length=1)


class LadderStep(_Model):
    after: int = Field(ge=1, le=365, description="working days overdue")
    notify: LadderTarget


class Escalation(_Model):
    ladder: list[LadderStep] = Field(min_length=1)
    repeat_every: int | None = Field(default=None, ge=1, le=365)


class NotificationSettings(_Model):
    quiet_hours: str | None = Field(
        default="20:00-08:00", pattern=r"^\d{2}:\d{2}-\d{2}:\d{2}$", description="local time"
    )
    working_days_only: bool = True
    max_attempts: int = Field(default=6, ge=1, le=50)
    base_backoff_s: float = Field(default=60, gt=0)
    robot_rate_per_minute: int = Field(default=20, ge=1, le=1000)


class CalendarConfig(_Model):
    mode: Literal["cn", "weekdays", "calendar"] = "cn"
    overrides_dir: str = "../calendars"


class AwardConfig(_Model):
    number_format: Text = "{prefix}{title}〔{year}〕第{seq:03d}号"
    prefix: str = ""
    issued_on: date | None = Field(default=None, description="defaults to the plaque phase start")
    assumed: bool = False
    note: str | None = None


def _hhmm(value: object) -> object:
    if isinstance(value, int):
        # YAML 1.1 reads an unquoted 10:00 as the sexagesimal number 600.
        raise ValueError('时间须加引号，如 "10:00"')
    if not isinstance(value, str) or not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", value):
        raise ValueError('时间应为 HH:MM（24 小时制），如 "09:00"')
    return value


HHMM = Annotated[str, BeforeValidator(_hhmm)]


class ScheduleConfig(_Model):
    """When the Prefect deployments run, in the campaign's local time (deployments/build.py)."""

    tick_at: HHMM = Field(default="09:00", description="daily tick, first phase to the award")
    acceptance_at: HHMM = Field(default="10:00", description="once, first day of acceptance")
    report_weekday: Literal["MO", "TU", "WE", "TH", "FR", "SA", "SU"] = "MO"
    report_at: HHMM = "10:00"
    dispatch_every_minutes: Literal[5, 10, 12, 15, 20, 30, 60] | None = Field(
        default=60,
        description="outside the quiet hours; null: only the tick's own dispatch and manual runs",
    )


class Campaign(_Model):
    code: Code
    name: Text
    issuer: Text
    issued_on: date
    short_name: Text | None = Field(default=None, description="used in message subjects")
    document: Text | None = None
    how_to_submit: Text | None = None
    templates_dir: str | None = Field(default=None, description="overrides, relative to the YAML")
    timezone: str = "Asia/Shanghai"
    calendar: CalendarConfig = CalendarConfig()
    coordinator: Coordinator
    units: list[UnitDef] = []
    domains: list[Domain] = Field(min_length=1)
    phases: list[Phase] = Field(min_length=1)
    gates: list[Gate] = Field(min_length=1)
    targets: Targets
    reminders: Reminders = Reminders()
    escalation: Escalation
    award: AwardConfig = AwardConfig()
    notifications: NotificationSettings = NotificationSettings()
    schedule: ScheduleConfig = ScheduleConfig()

    # -- lookups used everywhere else -------------------------------------------------------
    def domain(self, key: str) -> Domain:
        return next(d for d in self.domains if d.key == key)

    def phase(self, key: str) -> Phase:
        return next(p for p in self.phases if p.key == key)

    def gate(self, key: str) -> Gate:
        return next(g for g in self.gates if g.key == key)

    def gate_opens_on(self, gate: Gate) -> date:
        return gate.opens_on or self.phase(gate.phase).starts_on

    @property
    def starts_on(self) -> date:
        return min(p.starts_on for p in self.phases)

    @property
    def ends_on(self) -> date:
        return max(p.ends_on for p in self.phases)

    def years(self) -> list[int]:
        return list(range(self.starts_on.year, self.ends_on.year + 1))

    def fingerprint(self) -> str:
        return hashlib.sha256(
            json.dumps(self.model_dump(mode="json"), sort_keys=True).encode()
        ).hexdigest()


# --- loading -----------------------------------------------------------------------------

_PYDANTIC_MESSAGES = {
    "missing": "缺少必填字段",
    "extra_forbidden": "未知字段（请检查拼写）",
    "date_from_datetime_parsing": "日期格式错误，应为 YYYY-MM-DD",
    "date_parsing": "日期格式错误，应为 YYYY-MM-DD",
    "date_type": "应为日期（YYYY-MM-DD）",
    "string_type": "应为文本",
    "string_pattern_mismatch": "格式不符：编码只能由字母、数字、- 和 _ 组成（键须小写字母开头）",
    "string_too_short": "不能为空",
    "string_too_long": "过长（最多 {max_length} 个字符）",
    "float_parsing": "应为数字",
    "float_type": "应为数字",
    "int_parsing": "应为整数",
    "int_type": "应为整数",
    "int_from_float": "应为整数",
    "greater_than": "必须大于 {gt}",
    "greater_than_equal": "不能小于 {ge}",
    "less_than_equal": "不能大于 {le}",
    "literal_error": "取值无效，可选值：{expected}",
    "list_type": "应为列表",
    "too_short": "至少需要 {min_length} 项",
    "model_type": "应为一组字段（映射）",
    "model_attributes_type": "应为一组字段（映射）",
    "bool_parsing": "应为 true 或 false",
    "bool_type": "应为 true 或 false",
    "value_error": "{error}",
    "dict_type": "应为一组字段（映射）",
    "string_unicode": "含有无法识别的字符",
    "int_parsing_size": "数值过大",
    "less_than": "必须小于 {lt}",
    "too_long": "最多 {max_length} 项",
    "date_from_datetime_inexact": "应为日期（YYYY-MM-DD），不含时间",
    "recursion_loop": "结构嵌套过深",
}
# Pydantic's own text is English; a type not mapped above still gets a Chinese line.
_PYDANTIC_FALLBACK = "取值无效"
# A pasted paragraph or a long list is not worth echoing whole.
_MAX_SHOWN = 80


def _loc(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _pydantic_problems(source: str, err: ValidationError) -> list[Problem]:
    problems = []
    for e in err.errors():
        template = _PYDANTIC_MESSAGES.get(e["type"], _PYDANTIC_FALLBACK)
        ctx = {k: v for k, v in (e.get("ctx") or {}).items()}
        try:
            message = template.format(**ctx)
        except (KeyError, IndexError):
            message = _PYDANTIC_FALLBACK
        if e["type"] not in ("missing",) and "input" in e and not isinstance(e["input"], dict):
            shown = repr(e["input"])
            if len(shown) > _MAX_SHOWN:
                shown = shown[:_MAX_SHOWN] + "…"
            message += f"（当前值：{shown}）"
        problems.append(Problem(source, _loc(tuple(e["loc"])), message))
    return problems


class _UniqueKeyLoader(yaml.SafeLoader):
    """PyYAML keeps the last of two equal keys silently; a campaign file must not.

    Timestamps stay strings so that pydantic parses every date with one rule and one
    message (PyYAML raises a bare ValueError on 2017-02-30).
    """


_UniqueKeyLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _construct_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        try:
            hash(key)
        except TypeError:
            raise yaml.constructor.ConstructorError(
                None, None, "键必须是简单文本，不能是列表或映射", key_node.start_mark
            ) from None
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"重复的键 {key!r}", key_node.start_mark
            )
        seen.add(key)
    return loader.construct_mapping(node)


_UniqueKeyLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
    _construct_mapping,
)


def read_yaml(path: Path) -> Any:
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError([Problem(source, "", "文件不存在")]) from None
    except UnicodeDecodeError:
        raise InputError([Problem(source, "", "文件不是 UTF-8 编码")]) from None
    except OSError as exc:
        raise InputError([Problem(source, "", f"无法读取文件：{exc.strerror}")]) from None
    try:
        return yaml.load(text, Loader=_UniqueKeyLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"第 {mark.line + 1} 行第 {mark.column + 1} 列" if mark else ""
        what = getattr(exc, "problem", None) or str(exc)
        raise InputError([Problem(source, where, f"YAML 语法错误：{what}")]) from None
    except RecursionError:
        # PyYAML parses nesting by recursion: thousands of "[" exhaust the stack.
        raise InputError(
            [Problem(source, "", "YAML 嵌套层次过深，不是有效的创建活动配置")]
        ) from None


# C0 controls but tab and line breaks, and DEL: PostgreSQL refuses NUL in text and JSON,
# and the rest only hide or garble what a name shows.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _control_problems(data: Any, source: str) -> list[Problem]:
    problems: list[Problem] = []
    pending: list[tuple[Any, tuple[int | str, ...]]] = [(data, ())]
    while pending:  # not recursive: the YAML may nest as deep as the parser allowed
        node, loc = pending.pop()
        if isinstance(node, dict):
            pending.extend((v, (*loc, str(k))) for k, v in node.items())
        elif isinstance(node, list):
            pending.extend((v, (*loc, i)) for i, v in enumerate(node))
        elif isinstance(node, str) and _CONTROL.search(node):
            problems.append(Problem(source, _loc(loc), "含有控制字符（如 NUL），请删除后重试"))
    return sorted(problems, key=lambda p: p.where)


def parse_campaign(data: Any, source: str) -> Campaign:
    if not isinstance(data, dict):
        raise InputError([Problem(source, "", "文件内容应为一组字段（YAML 映射）")])
    problems = _control_problems(data, source)
    try:
        campaign = Campaign.model_validate(data)
    except ValidationError as err:
        raise InputError(problems + _pydantic_problems(source, err)) from None
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
    return f"目录路径 {value[:_MAX_SHOWN]!r} 无效（含有不允许的字符或无法解析）"


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


def _duplicates(values: list[str]) -> list[str]:
    seen: set[str] = set()
    dups: list[str] = []
    for v in values:
        if v in seen and v not in dups:
            dups.append(v)
        seen.add(v)
    return dups


def semantic_problems(c: Campaign, source: str) -> list[Problem]:
    """Cross-field rules a schema alone cannot express."""
    out: list[Problem] = []

    def add(where: str, message: str) -> None:
        out.append(Problem(source, where, message))

    try:
        ZoneInfo(c.timezone)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        add("timezone", f"未知时区 {c.timezone!r}（应为 IANA 名称，如 Asia/Shanghai）")

    unit_codes = [c.coordinator.code] + [u.code for u in c.units]
    for dup in _duplicates(unit_codes):
        add("units", f"单位编码 {dup} 重复")
    known_units = set(unit_codes)
    for label, values in (
        ("domains", [d.key for d in c.domains]),
        ("phases", [p.key for p in c.phases]),
        ("gates", [g.key for g in c.gates]),
    ):
        for dup in _duplicates(values):
            add(label, f"键 {dup} 重复")
    for dup in _duplicates([d.name for d in c.domains]):
        add("domains", f"领域名称 {dup} 重复")

    for i, d in enumerate(c.domains):
        where = f"domains[{i}]"
        if d.lead not in known_units:
            add(f"{where}.lead", f"牵头单位 {d.lead} 未在 units 中定义")
        for j, p in enumerate(d.participants):
            if p not in known_units:
                add(f"{where}.participants[{j}]", f"参与单位 {p} 未在 units 中定义")
            if p == d.lead:
                add(f"{where}.participants[{j}]", f"{p} 已是牵头单位，不应同时列为参与单位")
        out.extend(_rubric_problems(d.rubric, f"{where}.rubric", source))

    if not 0 <= c.targets.coverage <= 1:
        add("targets.coverage", f"覆盖率目标须在 0 到 1 之间（当前值：{c.targets.coverage}）")
    if not 0 <= c.targets.pass_rate <= 1:
        add("targets.pass_rate", f"达标率目标须在 0 到 1 之间（当前值：{c.targets.pass_rate}）")

    phases = sorted(enumerate(c.phases), key=lambda ip: ip[1].starts_on)
    for i, ph in enumerate(c.phases):
        if ph.ends_on < ph.starts_on:
            add(
                f"phases[{i}]",
                f"阶段 {ph.key} 结束日期 {ph.ends_on} 早于开始日期 {ph.starts_on}",
            )
    for (_, a), (j, b) in pairwise(phases):
        if b.starts_on <= a.ends_on:
            add(f"phases[{j}]", f"阶段 {b.key} 与阶段 {a.key} 日期重叠")
        elif (b.starts_on - a.ends_on).days > 1:
            add(
                f"phases[{j}]",
                f"阶段 {a.key}({a.ends_on} 结束)与阶段 {b.key}({b.starts_on} 开始)之间有空档",
            )

    phase_by_key = {p.key: p for p in c.phases}
    domain_keys = {d.key for d in c.domains}
    for i, g in enumerate(c.gates):
        where = f"gates[{i}]"
        phase = phase_by_key.get(g.phase)
        if phase is None:
            add(f"{where}.phase", f"阶段 {g.phase} 不存在")
        else:
            opens = g.opens_on or phase.starts_on
            if not phase.starts_on <= opens <= phase.ends_on:
                add(f"{where}.opens_on", f"开始日期 {opens} 不在阶段 {phase.key} 的日期范围内")
            if not phase.starts_on <= g.due_on <= phase.ends_on:
                add(
                    f"{where}.due_on",
                    f"截止日期 {g.due_on} 不在阶段 {phase.key}"
                    f"({phase.starts_on} 至 {phase.ends_on})内",
                )
            if g.due_on < opens:
                add(f"{where}.due_on", f"截止日期 {g.due_on} 早于开始日期 {opens}")
        for j, dk in enumerate(g.domains or []):
            if dk not in domain_keys:
                add(f"{where}.domains[{j}]", f"领域 {dk} 不存在")
        if g.domains is not None and not set(g.owed_by) & {"cells", "lead_units", "participants"}:
            add(f"{where}.domains", "只有 cells、lead_units、participants 可按领域筛选")
        for dup in _duplicates(list(g.owed_by)):
            add(f"{where}.owed_by", f"{dup} 重复")
        if g.evidence == "assessment" and g.owed_by != ["cells"]:
            add(f"{where}.evidence", "考核验收类事项只能由 cells(创建单位)承担")

    file_kinds = [g.deliverable for g in c.gates if g.evidence == "files"]
    for dup in _duplicates(file_kinds):
        add("gates", f"材料类别 {dup} 被多个报送事项使用；收取材料时无法判断归属，请改用不同的类别")
    gate_keys = {g.key for g in c.gates}
    if c.targets.coverage_gate not in gate_keys:
        add("targets.coverage_gate", f"事项 {c.targets.coverage_gate} 不存在")
    elif "cells" not in c.gate(c.targets.coverage_gate).owed_by:
        add("targets.coverage_gate", "用于计算覆盖率的事项必须由 cells(创建单位)承担")

    afters = [s.after for s in c.escalation.ladder]
    if afters != sorted(set(afters)):
        add("escalation.ladder", "各级 after(逾期工作日数)须严格递增")
    for dup in _duplicates(sorted(str(d) for d in c.reminders.days_before)):
        add("reminders.days_before", f"提醒天数 {dup} 重复")
    try:
        c.award.number_format.format(prefix="", title="平安校园", year=2017, seq=1, domain="x")
    except KeyError as exc:
        add(
            "award.number_format",
            f"编号格式含未知占位符 {{{exc.args[0]}}}（可用：prefix、title、year、seq、domain）",
        )
    except Exception as exc:  # any format error is the user's: report it, never raise
        add("award.number_format", f"编号格式无效（{exc or type(exc).__name__}）")
    else:
        for i, d in enumerate(c.domains):
            try:
                number = c.award.number_format.format(
                    prefix=c.award.prefix, title=d.title, year=9999, seq=999_999, domain=d.name
                )
            except Exception as exc:  # "{title[5]}" on a shorter title, say
                add(f"domains[{i}].title", f"编号格式无法用于本领域（{exc or type(exc).__name__}）")
                continue
            if len(number) > _AWARD_NUMBER_CHARS:
                add(
                    "award.number_format",
                    f"领域 {d.key} 的命名编号可长达 {len(number)} 个字符，"
                    f"超过上限 {_AWARD_NUMBER_CHARS} 个（请缩短前缀或 domains[{i}].title）",
                )
    if c.award.issued_on is not None and c.award.issued_on < c.starts_on:
        add("award.issued_on", f"命名日期 {c.award.issued_on} 早于活动开始日期 {c.starts_on}")
    return out


def _rubric_problems(r: Rubric, where: str, source: str) -> list[Problem]:
    out: list[Problem] = []
    points = sum(c.points for c in r.criteria)
    if abs(points - r.total) > 1e-9:
        out.append(
            Problem(source, f"{where}.criteria", f"各项分值合计 {points:g} 与总分 {r.total:g} 不符")
        )
    if r.pass_mark > r.total:
        out.append(
            Problem(source, f"{where}.pass_mark", f"达标分 {r.pass_mark:g} 高于总分 {r.total:g}")
        )
    keys = [c.key for c in r.criteria] + [d.key for d in r.deductions] + [v.key for v in r.vetoes]
    for dup in _duplicates(keys):
        out.append(Problem(source, where, f"评分项键 {dup} 重复"))
    for i, d in enumerate(r.deductions):
        if d.max_points > r.total:
            out.append(Problem(source, f"{where}.deductions[{i}].max_points", "扣分上限高于总分"))
    return out


_CODE_RE = re.compile(_CODE)
_KEY_RE = re.compile(_KEY)


def is_code(text: str) -> bool:
    """Whether text is a well-formed campaign or unit code. Anything else names nothing, so
    a caller can answer "not found" without sending it to the database, which may refuse
    it outright (PostgreSQL and NUL; a lone surrogate cannot even be encoded)."""
    return _CODE_RE.fullmatch(text) is not None


def is_key(text: str) -> bool:
    """Whether text is a well-formed key (domain, phase, gate); see is_code."""
    return _KEY_RE.fullmatch(text) is not None


_SLUG = re.compile(r"[^a-z0-9-]+")


def artifact_slug(text: str) -> str:
    """Prefect artifact keys allow only [a-z0-9-]."""
    return _SLUG.sub("-", text.lower()).strip("-") or "x"

"""`pingan campaign init`: a commented campaign YAML that `validate` accepts, from a handful of
answers (the organisation, its level, the domains and their lead units, dates and targets).

Pure: the answers in, the YAML text out. Everything the answers do not say is filled with a
default marked ``assumed: true`` so the operator sees what still needs the plan's words.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, timedelta

from pingan.core.problems import InputError, Problem

_MIN_DAYS = 30  # plan, implementation and acceptance need room


@dataclass(frozen=True)
class DomainAnswer:
    name: str  # 平安市场: also the title awarded
    lead: str  # 区市场监管局


@dataclass(frozen=True)
class InitAnswers:
    code: str
    organisation: str  # 滨江区
    level: str  # 区
    domains: tuple[DomainAnswer, ...]
    starts_on: date
    ends_on: date
    coverage: float = 1.0
    pass_rate: float = 0.9
    name: str | None = None  # default: 2025年度滨江区平安创建活动


def parse_domains(text: str) -> tuple[DomainAnswer, ...]:
    """ "平安市场=区市场监管局，平安工地=区住建局" (comma or 、 between, = or ： inside)."""
    items = [p.strip() for p in text.replace("，", ",").replace("、", ",").split(",") if p.strip()]
    out = []
    for item in items:
        name, sep, lead = item.replace("：", "=").replace(":", "=").partition("=")
        if not sep or not name.strip() or not lead.strip():
            raise InputError(
                [Problem("--domains", item, "应写作“领域名称=牵头单位”，如 平安市场=区市场监管局")]
            )
        out.append(DomainAnswer(name.strip(), lead.strip()))
    if not out:
        raise InputError([Problem("--domains", "", "至少需要一个领域")])
    return tuple(out)


def _q(text: str) -> str:
    """A YAML scalar for any text: a JSON string is a valid YAML double-quoted string."""
    return json.dumps(text, ensure_ascii=False)


def _check(a: InitAnswers) -> None:
    problems = []
    if (a.ends_on - a.starts_on).days < _MIN_DAYS:
        problems.append(
            Problem("--ends-on", "", f"活动期至少 {_MIN_DAYS} 天（{a.starts_on} 至 {a.ends_on}）")
        )
    for flag, value in (("--coverage", a.coverage), ("--pass-rate", a.pass_rate)):
        if not 0 < value <= 1:
            problems.append(Problem(flag, "", f"须在 0 到 1 之间（当前值：{value}）"))
    if len({d.name for d in a.domains}) != len(a.domains):
        problems.append(Problem("--domains", "", "领域名称重复"))
    if problems:
        raise InputError(problems)


def _phases(a: InitAnswers) -> tuple[date, date, date, date]:
    """(plan ends, implementation starts, acceptance starts, self-check due)."""
    span = (a.ends_on - a.starts_on).days
    plan_end = a.starts_on + timedelta(days=max(span // 10, 7))
    accept = a.ends_on - timedelta(days=min(13, span // 5))
    due = accept - timedelta(days=10)
    return plan_end, plan_end + timedelta(days=1), accept, due


def skeleton_yaml(a: InitAnswers) -> str:
    _check(a)
    lines = [*_head(a), *_domains(a), *_plan(a)]
    return "\n".join(lines) + "\n"


def _head(a: InitAnswers) -> list[str]:
    """Identity, organisation, calendar, coordinator and the lead units."""
    name = a.name or f"{a.starts_on.year}年度{a.organisation}平安创建活动"
    level = a.level
    body = "综治办" if level == "部门" else f"{level}综治委"
    return [
        f"# {name}（由 pingan campaign init 生成的骨架）",
        "# 标注 assumed: true 的内容为系统默认值，请按方案原文修改后删去该标注。",
        "# 字段说明见 docs/campaign.md；改完后运行 pingan validate 检查。",
        "",
        f"code: {a.code}",
        f"name: {_q(name)}",
        f"short_name: {_q(a.organisation + '平安创建')}",
        f"issuer: {_q(a.organisation + '（请改为印发单位全称）')}",
        f"issued_on: {a.starts_on}",
        "timezone: Asia/Shanghai",
        "",
        "organisation:            # 各类文书的称谓均由此推出（全{level}、{level}直属单位…）",
        f"  name: {_q(a.organisation)}",
        f"  level: {_q(level)}",
        "calendar:",
        "  mode: cn               # 法定节假日及调休；缺失年份见 config/calendars/",
        "",
        "coordinator:",
        "  code: zzw",
        f"  name: {_q(body)}",
        "  office:",
        f"    name: {_q(body.removesuffix('委').removesuffix('办') + '中心')}",
        '    phone: "（请填写）"',
        "",
        "units:                   # 牵头单位与参与单位（名册只补充联系人，不能新增单位）",
        *(f"  - {{code: {code}, name: {_q(lead)}}}" for lead, code in _lead_codes(a).items()),
        "",
    ]


def _domains(a: InitAnswers) -> list[str]:
    leads = _lead_codes(a)
    lines = ["domains:"]
    for i, d in enumerate(a.domains, 1):
        lines += [
            f"  - key: d{i}",
            f"    name: {_q(d.name)}",
            f"    title: {_q(d.name)}",
            f"    lead: {leads[d.lead]}",
            f"    cell_categories: [{_q(_category(d))}]  # 名册“类别”列",
            "    rubric:",
            "      total: 100",
            "      pass_mark: 85",
            "      assumed: true",
            "      note: 评分细则待定，请按考核办法填写",
            "      criteria:",
            "        - {key: organisation, name: 组织领导和工作机制, points: 40}",
            "        - {key: prevention, name: 人防物防技防落实, points: 30}",
            "        - {key: mediation, name: 矛盾纠纷排查化解, points: 30}",
        ]
    return lines


def _plan(a: InitAnswers) -> list[str]:
    """Phases, gates, targets, reminders, the ladder and the award."""
    plan_end, impl_start, accept, due = _phases(a)
    return [
        "",
        "phases:                  # 阶段之间可以留空档；需要并行的写 overlap_allowed: true",
        f"  - {{key: plan, name: 制定方案, starts_on: {a.starts_on}, ends_on: {plan_end}}}",
        f"  - {{key: implement, name: 组织实施, starts_on: {impl_start}, "
        f"ends_on: {accept - timedelta(days=1)}}}",
        f"  - {{key: acceptance, name: 考核验收, starts_on: {accept}, ends_on: {a.ends_on}}}",
        "",
        "gates:",
        "  - {key: domain-plan, name: 本领域创建工作方案, phase: plan, deliverable: domain_plan,",
        f"     owed_by: [lead_units], due_on: {plan_end}}}",
        "  - {key: self-check, name: 创建自查报告, phase: implement, deliverable: self_check,",
        f"     owed_by: [cells], due_on: {due}}}",
        "  - {key: assessment, name: 考核验收, phase: acceptance, deliverable: assessment,",
        f"     owed_by: [cells], evidence: assessment, due_on: {a.ends_on}}}",
        "",
        "targets:                 # 各领域可在 domains[].targets 中另定",
        f"  coverage: {a.coverage}",
        f"  pass_rate: {a.pass_rate}",
        "  coverage_gate: self-check",
        "",
        "reminders:",
        "  days_before: [3, 1]    # 截止前 3 个、1 个工作日提醒",
        "",
        "escalation:              # 逾期工作日数 → 通知对象",
        "  ladder:",
        "    - {after: 1, notify: contact}",
        "    - {after: 3, notify: lead}",
        "    - {after: 5, notify: coordinator}",
        "  repeat_every: 5",
        "",
        "award:                   # 命名日期与挂牌仪式无须另设阶段",
        f"  issued_on: {a.ends_on}",
        "  assumed: true",
        "  note: 命名日期待定，默认活动最后一天",
        f"  ceremonies: []         # 如 - {{name: 命名挂牌仪式, held_on: {a.ends_on}}}",
    ]


def roster_rows(a: InitAnswers, grouping: str) -> list[list[str]]:
    """Example rows under the roster's Chinese headers: the lead units, two groups and one
    cell per domain, to be replaced by the real roster."""
    blank = ["", "", "", "", ""]
    rows = [
        [code, lead, "单位", "", "", "", "（联系人）", *blank]
        for lead, code in _lead_codes(a).items()
    ]
    rows += [[f"G{i:02d}", f"示例{grouping}{i}", "村社区", "", "", "", "", *blank] for i in (1, 2)]
    for i, d in enumerate(a.domains, 1):
        category = _category(d)
        row = [f"C{i:04d}", f"示例{category}{i}", "创建单位", f"d{i}", "G01", category]
        rows.append([*row, "（联系人）", *blank])
    return rows


def _lead_codes(a: InitAnswers) -> dict[str, str]:
    """Lead unit name → code (lead1, lead2 …), one per distinct lead unit."""
    names = dict.fromkeys(d.lead for d in a.domains)
    return {lead: f"lead{i}" for i, lead in enumerate(names, 1)}


def _category(d: DomainAnswer) -> str:
    return d.name.removeprefix("平安") + "单位"

"""Deployment specs from a campaign's dates: one Prefect deployment per flow, per campaign.

Schedules are RRULEs with a floating DTSTART and UNTIL read in the campaign's time zone
(Prefect's RRuleSchedule relabels both with the schedule's timezone): unlike a cron
schedule, an RRULE carries its own bounds, so nothing fires before the campaign starts or
after it ends. Decisions, for the README:

* tick       daily at ``tick_at`` from the first phase's start to the award date;
* acceptance once, on the acceptance phase's first day, at ``acceptance_at``;
* report     weekly on ``report_weekday`` at ``report_at``, over the whole campaign;
* dispatch   every ``dispatch_every_minutes`` outside the quiet hours, over the whole
             campaign: the tick already delivers what it plans, these runs pick up retries
             and rate-limited robots; the dispatcher itself enforces quiet hours and
             non-working days exactly, the schedule only avoids obviously idle runs;
* collect, award: no schedule. Intake needs an inbox chosen by the operator, and awards
  follow the coordinator's sign-off (the acceptance flow starts them itself).

No Prefect import here: the same specs feed ``prefect.yaml`` and ``pingan deploy``.

Run ``python -m deployments.build CONFIG [--pool NAME] [--out PATH]`` to print or write the
``prefect.yaml``; ``pingan deploy CONFIG --write-yaml PATH`` does the same.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import yaml

from pingan.core.awards import issue_date
from pingan.core.campaign import Campaign, ScheduleConfig, load_campaign
from pingan.core.problems import InputError
from pingan.core.timeofday import QuietHours, format_hhmm

DEFAULT_POOL = "pingan-process"
PULL_STEP = "deployments.steps.enter_project"
WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


@dataclass(frozen=True)
class ScheduleSpec:
    slug: str
    rrule: str
    timezone: str

    def as_yaml(self) -> dict[str, Any]:
        return {"slug": self.slug, "rrule": self.rrule, "timezone": self.timezone, "active": True}


@dataclass(frozen=True)
class FlowRef:
    kind: str
    entrypoint: str
    flow_name: str


FLOWS: dict[str, FlowRef] = {
    ref.kind: ref
    for ref in (
        FlowRef("tick", "flows/tick.py:tick", "pingan-tick"),
        FlowRef("collect", "flows/collect.py:collect", "pingan-collect"),
        FlowRef("dispatch", "flows/dispatch.py:dispatch", "pingan-dispatch"),
        FlowRef("acceptance", "flows/acceptance.py:acceptance", "pingan-acceptance"),
        FlowRef("award", "flows/award.py:award", "pingan-award"),
        FlowRef("report", "flows/report.py:report", "pingan-report"),
    )
}


@dataclass(frozen=True)
class DeploymentSpec:
    kind: str
    name: str
    entrypoint: str
    flow_name: str
    description: str
    tags: tuple[str, ...]
    parameters: dict[str, Any]
    schedules: tuple[ScheduleSpec, ...] = field(default=())

    @property
    def full_name(self) -> str:
        return f"{self.flow_name}/{self.name}"

    def as_yaml(self, pool: str) -> dict[str, Any]:
        return {
            "name": self.name,
            "entrypoint": self.entrypoint,
            "description": self.description,
            "tags": list(self.tags),
            "parameters": self.parameters,
            "enforce_parameter_schema": True,
            "schedules": [s.as_yaml() for s in self.schedules],
            "work_pool": {"name": pool, "work_queue_name": None, "job_variables": {}},
        }


# --- rrules -------------------------------------------------------------------------------


def _stamp(d: date, t: time) -> str:
    return datetime.combine(d, t).strftime("%Y%m%dT%H%M%S")


def daily(first: date, last: date, at: time) -> str:
    return f"DTSTART:{_stamp(first, at)}\nRRULE:FREQ=DAILY;UNTIL={_stamp(last, at)}"


def once(day: date, at: time) -> str:
    return f"DTSTART:{_stamp(day, at)}\nRRULE:FREQ=DAILY;COUNT=1"


def weekly(first: date, last: date, weekday: str, at: time) -> str:
    # DTSTART on the first such weekday: RFC 5545 counts DTSTART as an occurrence even
    # when it does not match BYDAY, and dateutil follows the rule, not that quirk — be
    # unambiguous for both readers.
    start = first + timedelta(days=(WEEKDAYS.index(weekday) - first.weekday()) % 7)
    return (
        f"DTSTART:{_stamp(start, at)}\n"
        f"RRULE:FREQ=WEEKLY;BYDAY={weekday};UNTIL={_stamp(last, time(23, 59, 59))}"
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
        f"DTSTART:{_stamp(first, start)}\n"
        f"RRULE:FREQ=DAILY;BYHOUR={','.join(map(str, hours))};"
        f"BYMINUTE={','.join(map(str, minutes))};BYSECOND=0;"
        f"UNTIL={_stamp(last, time(23, 59, 59))}"
    )


# --- specs --------------------------------------------------------------------------------


def acceptance_start(campaign: Campaign) -> date | None:
    """The phase called acceptance, else the phase of the first assessment gate."""
    for p in campaign.phases:
        if p.key == "acceptance":
            return p.starts_on
    for g in campaign.gates:
        if g.evidence == "assessment":
            return campaign.phase(g.phase).starts_on
    return None


_WEEKDAY_ZH = dict(zip(WEEKDAYS, "一二三四五六日", strict=True))


@dataclass(frozen=True)
class _Plan:
    """What every deployment of one campaign is built from."""

    campaign: Campaign
    times: ScheduleConfig
    first: date  # the first phase's start
    award_on: date
    last: date  # the later of the last phase's end and the award

    @classmethod
    def of(cls, campaign: Campaign, times: ScheduleConfig) -> _Plan:
        award_on = issue_date(campaign)
        return cls(campaign, times, campaign.starts_on, award_on, max(campaign.ends_on, award_on))

    @property
    def tz(self) -> str:
        return self.campaign.timezone

    def spec(self, kind: str, description: str, *schedules: ScheduleSpec) -> DeploymentSpec:
        ref, code = FLOWS[kind], self.campaign.code
        return DeploymentSpec(
            kind=kind,
            name=code,
            entrypoint=ref.entrypoint,
            flow_name=ref.flow_name,
            description=f"{self.campaign.name}：{description}",
            tags=("pingan", code, kind),
            parameters=(
                {"campaign": code} if kind in FLAT_PARAMETERS else {"params": {"campaign": code}}
            ),
            schedules=schedules,
        )


def _tick(p: _Plan) -> DeploymentSpec:
    at = p.times.tick_at
    return p.spec(
        "tick",
        f"每日巡检。{p.first} 至 {p.award_on} 每天 {format_hhmm(at)}（{p.tz}）"
        "评估全部报送义务，安排截止前提醒与逾期逐级督办，随即投递，并发布进度表与摘要。",
        ScheduleSpec("tick-daily", daily(p.first, p.award_on, at), p.tz),
    )


def _collect(p: _Plan) -> DeploymentSpec:
    return p.spec(
        "collect",
        "收取报送材料（手动运行，填写报送目录；活动配置了邮箱时同时收取报送邮件）。"
        "合格材料登记入库，不合格的移入隔离区并说明原因。",
    )


def _dispatch(p: _Plan) -> DeploymentSpec:
    step = p.times.dispatch_every_minutes
    if step is None:
        return p.spec("dispatch", "投递待发通知（手动运行）。")
    quiet = p.campaign.notifications.quiet_hours
    return p.spec(
        "dispatch",
        f"投递待发通知。{p.first} 至 {p.last} 免打扰时段以外每 {step} 分钟一次（{p.tz}），"
        "重试失败的投递、发出限流顺延的消息；免打扰时段与非工作日由投递程序把关。",
        ScheduleSpec("dispatch-working-hours", every_minutes(p.first, p.last, step, quiet), p.tz),
    )


# Flows whose parameters are flat (issue 16), not one nested ``params`` model.
FLAT_PARAMETERS = frozenset({"acceptance"})


def _acceptance(p: _Plan) -> DeploymentSpec:
    accept_on = acceptance_start(p.campaign)
    if accept_on is None:
        return p.spec("acceptance", "考核验收（手动运行）。")
    at = p.times.acceptance_at
    return p.spec(
        "acceptance",
        f"考核验收。{accept_on} {format_hhmm(at)}（{p.tz}）运行一次："
        f"统计各领域达标率，等待{p.campaign.coordinator.name}在手机或界面签批，签批同意后命名挂牌。",
        ScheduleSpec("acceptance-once", once(accept_on, at), p.tz),
    )


def _award(p: _Plan) -> DeploymentSpec:
    return p.spec(
        "award",
        "命名挂牌（手动运行；验收签批同意后由验收流程自动运行）。"
        "为达标单位编号、生成证书与公示名单并通知，可撤销命名。",
    )


def _report(p: _Plan) -> DeploymentSpec:
    day, at = p.times.report_weekday, p.times.report_at
    return p.spec(
        "report",
        f"创建工作周报。{p.first} 至 {p.last} 每周{_WEEKDAY_ZH[day]} {format_hhmm(at)}（{p.tz}）"
        "生成报告（图表、明细表）并向各牵头单位和综治委通报。",
        ScheduleSpec("report-weekly", weekly(p.first, p.last, day, at), p.tz),
    )


_BUILDERS: tuple[Callable[[_Plan], DeploymentSpec], ...] = (
    _tick,
    _collect,
    _dispatch,
    _acceptance,
    _award,
    _report,
)


def deployment_specs(
    campaign: Campaign, times: ScheduleConfig | None = None
) -> list[DeploymentSpec]:
    """One deployment per flow, in a fixed order; ``times`` overrides the campaign's
    ``schedule`` section."""
    plan = _Plan.of(campaign, times or campaign.schedule)
    return [build(plan) for build in _BUILDERS]


# --- prefect.yaml -------------------------------------------------------------------------

HEADER = """\
# Prefect 部署清单（{name}）。
# 由 `pingan deploy <活动配置> --write-yaml <本文件>` 依据活动配置中的日期生成，请勿手工修改；
# tests/unit/test_deployments.py 检查它与生成结果一致。注册到 Prefect 服务器请用 `pingan deploy`
# （同时创建工作池、巡检并发限制和“无心跳运行标记为崩溃”自动化），或在项目根目录执行
# `prefect deploy --all --prefect-file deployments/prefect.yaml`。
"""


class _Dumper(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:
        return True  # no &id001 anchors: each deployment reads on its own


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def prefect_yaml(campaign: Campaign, pool: str = DEFAULT_POOL) -> str:
    doc: dict[str, Any] = {
        "name": "pingan",
        "prefect-version": None,
        "build": None,
        "push": None,
        # Workers enter the project directory (PINGAN_ROOT, or where the code is installed),
        # so the entrypoints and a relative PINGAN_HOME mean the same on every machine.
        "pull": [{PULL_STEP: {}}],
        "deployments": [s.as_yaml(pool) for s in deployment_specs(campaign)],
    }
    body = yaml.dump(doc, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)
    return HEADER.format(name=campaign.name) + body


def write_prefect_yaml(campaign: Campaign, path: Path, pool: str = DEFAULT_POOL) -> Path:
    """Written whole through a temporary file: a failure leaves the old file intact."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(prefect_yaml(campaign, pool), encoding="utf-8")
    tmp.replace(path)
    return path


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="由活动配置生成 Prefect 部署清单 prefect.yaml")
    parser.add_argument("config", type=Path, help="创建活动配置文件（YAML）")
    parser.add_argument("--pool", default=DEFAULT_POOL, help="工作池名称")
    parser.add_argument("--out", type=Path, help="写入的文件；省略时输出到标准输出")
    args = parser.parse_args(argv)
    try:
        campaign = load_campaign(args.config)
    except InputError as exc:
        for p in exc.problems:
            sys.stderr.write(f"{p}\n")
        return 2
    if args.out is None:
        sys.stdout.write(prefect_yaml(campaign, args.pool))
    else:
        write_prefect_yaml(campaign, args.out, args.pool)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

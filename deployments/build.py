"""Deployment specs from a campaign's dates: one Prefect deployment per flow, per campaign.

Schedules are RRULEs with a floating DTSTART and UNTIL read in the campaign's time zone
(Prefect's RRuleSchedule relabels both with the schedule's timezone): unlike a cron
schedule, an RRULE carries its own bounds, so nothing fires before the campaign starts or
after it ends. Decisions, for the README:

* tick       at ``tick_at`` on every working day of the campaign's calendar (make-up
             Saturdays included, holidays excluded) from the first phase's start to
             the award date;
* acceptance once, on the acceptance phase's first day at ``acceptance_at`` — moved to the
             next working day when that day is not one (``pingan validate`` warns);
* report     weekly on ``report_weekday`` at ``report_at``, over the whole campaign; a
             week whose day is a holiday reports on its next working day;
* dispatch   every ``dispatch_every_minutes`` outside the quiet hours, over the whole
             campaign: the tick already delivers what it plans, these runs pick up retries
             and rate-limited robots; the dispatcher itself enforces quiet hours and
             non-working days exactly, the schedule only avoids obviously idle runs;
* collect, award: no schedule. Intake needs an inbox chosen by the operator, and awards
  follow the coordinator's sign-off (the acceptance flow starts them itself);
* alert      no schedule: the automations of deployments/automations.py run it.

Every deployment has a deployment-level concurrency limit (``CONCURRENCY``), written into
``prefect.yaml`` and passed by ``pingan deploy`` alike.

No Prefect import here: the same specs feed ``prefect.yaml`` and ``pingan deploy``.

Run ``python -m deployments.build CONFIG [--pool NAME] [--out PATH]`` to print or write the
``prefect.yaml``; ``pingan deploy CONFIG --write-yaml PATH`` does the same.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from deployments.rrules import WEEKDAYS, every_minutes, once, weekly, working_days
from pingan.core.awards import issue_date
from pingan.core.calendar import WorkingCalendar
from pingan.core.campaign import Campaign, ScheduleConfig, load_campaign, working_calendar
from pingan.core.problems import InputError
from pingan.core.rest_days import acceptance_start, next_working_day
from pingan.core.timeofday import format_hhmm

DEFAULT_POOL = "pingan-process"
PULL_STEP = "deployments.steps.enter_project"


@dataclass(frozen=True)
class ScheduleSpec:
    slug: str
    rrule: str
    timezone: str

    def as_yaml(self) -> dict[str, Any]:
        return {"slug": self.slug, "rrule": self.rrule, "timezone": self.timezone, "active": True}


@dataclass(frozen=True)
class Concurrency:
    """A deployment's own concurrency limit; what a run beyond it does (Prefect's
    collision strategies: ENQUEUE waits for a slot, CANCEL_NEW drops the new run)."""

    limit: int
    collision_strategy: str

    def as_yaml(self) -> dict[str, Any]:
        return {"limit": self.limit, "collision_strategy": self.collision_strategy}


# One place for both paths (prefect.yaml and `pingan deploy`). Ticks, reports, awards and
# intake queue: each run may carry its own date or inbox, and all are idempotent. A
# dispatch that finds another still sending has nothing to add: the next slot picks up.
# Alerts run one at a time so that two failures at once do not race for the outbox rows.
CONCURRENCY: dict[str, Concurrency] = {
    "tick": Concurrency(1, "ENQUEUE"),
    "collect": Concurrency(1, "ENQUEUE"),
    "dispatch": Concurrency(1, "CANCEL_NEW"),
    "acceptance": Concurrency(1, "CANCEL_NEW"),
    "award": Concurrency(1, "ENQUEUE"),
    "report": Concurrency(1, "ENQUEUE"),
    "alert": Concurrency(1, "ENQUEUE"),
}


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
        FlowRef("alert", "flows/alert.py:alert", "pingan-alert"),
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
    def concurrency(self) -> Concurrency:
        return CONCURRENCY[self.kind]

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
            "concurrency_limit": self.concurrency.as_yaml(),
            "schedules": [s.as_yaml() for s in self.schedules],
            "work_pool": {"name": pool, "work_queue_name": None, "job_variables": {}},
        }


# --- specs --------------------------------------------------------------------------------


_WEEKDAY_ZH = dict(zip(WEEKDAYS, "一二三四五六日", strict=True))


@dataclass(frozen=True)
class _Plan:
    """What every deployment of one campaign is built from."""

    campaign: Campaign
    times: ScheduleConfig
    calendar: WorkingCalendar
    first: date  # the first phase's start
    award_on: date
    last: date  # the later of the last phase's end and the award

    @classmethod
    def of(cls, campaign: Campaign, times: ScheduleConfig, calendar: WorkingCalendar) -> _Plan:
        award_on = issue_date(campaign)
        last = max(campaign.ends_on, award_on)
        return cls(campaign, times, calendar, campaign.starts_on, award_on, last)

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
            # The alert flow carries neither "pingan" nor the campaign's tag: the automations
            # watch runs tagged so, and an alert run that fails must not alert about itself.
            tags=("pingan", code, kind) if kind != "alert" else ("pingan-alert",),
            parameters={"campaign": code},
            schedules=schedules,
        )


def _tick(p: _Plan) -> DeploymentSpec:
    at = p.times.tick_at
    return p.spec(
        "tick",
        f"每日巡检。{p.first} 至 {p.award_on} 每个工作日 {format_hhmm(at)}（{p.tz}，"
        "按活动工作日历：节假日不运行，调休上班日运行）"
        "评估全部报送义务，安排截止前提醒与逾期逐级督办，随即投递，并发布进度表与摘要。",
        ScheduleSpec(
            "tick-working-days",
            working_days(p.first, p.award_on, at, p.calendar.is_working_day),
            p.tz,
        ),
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


def _acceptance(p: _Plan) -> DeploymentSpec:
    planned = acceptance_start(p.campaign)
    if planned is None:
        return p.spec("acceptance", "考核验收（手动运行）。")
    accept_on = next_working_day(planned, p.calendar.is_working_day)
    moved = f"（{planned} 非工作日，顺延）" if accept_on != planned else ""
    at = p.times.acceptance_at
    return p.spec(
        "acceptance",
        f"考核验收。{accept_on}{moved} {format_hhmm(at)}（{p.tz}）运行一次："
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
        f"创建工作周报。{p.first} 至 {p.last} 每周{_WEEKDAY_ZH[day]} {format_hhmm(at)}（{p.tz}；"
        "逢节假日顺延至下一个工作日）生成报告（图表、明细表）并向各牵头单位和综治委通报。",
        ScheduleSpec(
            "report-weekly", weekly(p.first, p.last, day, at, p.calendar.is_working_day), p.tz
        ),
    )


def _alert(p: _Plan) -> DeploymentSpec:
    return p.spec(
        "alert",
        f"告警（由自动化运行）：流程运行失败或验收签批等待过久时，通过本活动的通知渠道告知"
        f"{p.campaign.wording.office}。",
    )


_BUILDERS: tuple[Callable[[_Plan], DeploymentSpec], ...] = (
    _tick,
    _collect,
    _dispatch,
    _acceptance,
    _award,
    _report,
    _alert,
)


def deployment_specs(
    campaign: Campaign,
    times: ScheduleConfig | None = None,
    calendar: WorkingCalendar | None = None,
) -> list[DeploymentSpec]:
    """One deployment per flow, in a fixed order; ``times`` overrides the campaign's
    ``schedule`` section; ``calendar`` is the campaign's working calendar (read with the
    overrides next to its file: ``working_calendar(campaign, path)``)."""
    cal = calendar or working_calendar(campaign, None)
    plan = _Plan.of(campaign, times or campaign.schedule, cal)
    return [build(plan) for build in _BUILDERS]


# --- prefect.yaml -------------------------------------------------------------------------

HEADER = """\
# Prefect 部署清单（{name}）。
# 由 `pingan deploy <活动配置> --write-yaml <本文件>` 依据活动配置中的日期生成，请勿手工修改；
# tests/unit/test_deployments.py 检查它与生成结果一致。注册到 Prefect 服务器请用 `pingan deploy`
# （同时创建工作池、巡检并发限制、运行失败与签批等待告警自动化和“无心跳运行标记为崩溃”
# 自动化），或在项目根目录执行 `prefect deploy --all --prefect-file deployments/prefect.yaml`
# （只注册部署：告警自动化须由 pingan deploy 创建）。
"""


class _Dumper(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:
        return True  # no &id001 anchors: each deployment reads on its own


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def prefect_yaml(
    campaign: Campaign, pool: str = DEFAULT_POOL, calendar: WorkingCalendar | None = None
) -> str:
    doc: dict[str, Any] = {
        "name": "pingan",
        "prefect-version": None,
        "build": None,
        "push": None,
        # Workers enter the project directory (PINGAN_ROOT, or where the code is installed),
        # so the entrypoints and a relative PINGAN_HOME mean the same on every machine.
        "pull": [{PULL_STEP: {}}],
        "deployments": [s.as_yaml(pool) for s in deployment_specs(campaign, calendar=calendar)],
    }
    body = yaml.dump(doc, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)
    return HEADER.format(name=campaign.name) + body


def write_prefect_yaml(
    campaign: Campaign,
    path: Path,
    pool: str = DEFAULT_POOL,
    calendar: WorkingCalendar | None = None,
) -> Path:
    """Written whole through a temporary file: a failure leaves the old file intact."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(prefect_yaml(campaign, pool, calendar), encoding="utf-8")
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
    calendar = working_calendar(campaign, args.config)
    if args.out is None:
        sys.stdout.write(prefect_yaml(campaign, args.pool, calendar))
    else:
        write_prefect_yaml(campaign, args.out, args.pool, calendar)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

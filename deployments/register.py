"""Register the campaign's deployments with a Prefect server, or serve them in-process.

Besides the deployments, ``register`` makes sure the server has what they rely on:

* the process work pool (created with the process worker's default job template);
* the global concurrency limit ``pingan-tick-<campaign>`` (one slot) that
  ``tasks.limits.campaign_slot`` takes, so ticks queue instead of meeting the database lock;
* the campaign's alert automations (deployments/automations.py): a failed run, or a
  sign-off that waits too long, runs ``pingan-alert/<campaign>``, which tells the
  coordinator's office through pingan's own channels;
* an automation that marks a pingan flow run Crashed when its heartbeats stop — the
  open-source server's way to notice a worker machine that died mid-run (Prefect's
  "detect zombie flows" recipe, restricted to runs tagged ``pingan``). The flow-run
  processes send heartbeats every ``PREFECT_FLOWS_HEARTBEAT_FREQUENCY`` seconds (default
  180, at least 30); ``crash_after_s`` must exceed it.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

from prefect import Flow
from prefect.client.orchestration import PrefectClient, get_client
from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate, WorkPoolCreate
from prefect.client.schemas.objects import ConcurrencyLimitConfig, StateType
from prefect.deployments.runner import RunnerDeployment
from prefect.events.actions import ChangeFlowRunState
from prefect.events.schemas.automations import AutomationCore, EventTrigger, Posture
from prefect.events.schemas.events import ResourceSpecification
from prefect.exceptions import ObjectNotFound
from prefect.schedules import RRule, Schedule
from prefect.settings import PREFECT_API_URL

from deployments.automations import DEFAULT_SIGNOFF_HOURS, campaign_automations
from deployments.build import PULL_STEP, DeploymentSpec, ScheduleSpec

ZOMBIE_AUTOMATION = "pingan：心跳中断的运行标记为崩溃"
DEFAULT_CRASH_AFTER_S = 600
HEARTBEAT_FLOOR_S = 30  # Prefect's minimum PREFECT_FLOWS_HEARTBEAT_FREQUENCY


class DeployError(Exception):
    """Something the operator must fix; the message says what, in Chinese."""


class ServerUnavailable(DeployError):
    """No Prefect API to talk to."""


class FlowNotLoadable(DeployError):
    """An entrypoint that does not import or is not a flow."""


def check_crash_after(seconds: int) -> None:
    if 0 < seconds <= HEARTBEAT_FLOOR_S:
        raise DeployError(
            f"--crash-after 须为 0（不设置）或大于 {HEARTBEAT_FLOOR_S} 秒：流程心跳最短每 "
            f"{HEARTBEAT_FLOOR_S} 秒一次，更短会把正常运行标记为崩溃"
        )


def tick_limit_name(campaign_code: str) -> str:
    return f"pingan-tick-{campaign_code}"


def load_flow(entrypoint: str) -> Flow[Any, Any]:
    """``flows/tick.py:tick`` → the flow object, imported as the installed module
    ``flows.tick`` (the same object a worker runs), not as a loose script."""
    path, _, attr = entrypoint.partition(":")
    module_name = Path(path).with_suffix("").as_posix().replace("/", ".")
    try:
        obj = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise FlowNotLoadable(f"无法加载流程 {entrypoint}：{exc}") from None
    if not isinstance(obj, Flow):
        raise FlowNotLoadable(f"{entrypoint} 不是 Prefect 流程")
    return obj


def occurrences(schedule: ScheduleSpec) -> list[datetime]:
    """Every date the schedule fires, as Prefect reads the RRULE (local, tz-aware)."""
    from prefect.client.schemas.schedules import RRuleSchedule

    rule = RRuleSchedule(rrule=schedule.rrule, timezone=schedule.timezone).to_rrule()
    return [d for d in rule]


def schedules_of(spec: DeploymentSpec) -> list[Schedule]:
    return [RRule(s.rrule, timezone=s.timezone, slug=s.slug) for s in spec.schedules]


class _PullSteps:
    """Storage shim: a RunnerDeployment with these pull steps and nothing to upload."""

    def __init__(self, steps: list[dict[str, Any]]) -> None:
        self.pull_steps = steps
        self._base = Path.cwd()

    def set_base_path(self, path: Path) -> None:
        self._base = path

    @property
    def destination(self) -> Path:
        return self._base

    @property
    def pull_interval(self) -> int | None:
        return None

    async def pull_code(self) -> None:
        return None

    def to_pull_step(self) -> list[dict[str, Any]]:
        return self.pull_steps

    def __eq__(self, other: object) -> bool:
        return self.pull_steps == getattr(other, "pull_steps", None)

    __hash__ = None  # type: ignore[assignment]


async def runner_deployment(spec: DeploymentSpec, pool: str | None) -> RunnerDeployment:
    flow = load_flow(spec.entrypoint)
    deployment = await flow.ato_deployment(
        name=spec.name,
        description=spec.description,
        tags=list(spec.tags),
        parameters=spec.parameters,
        schedules=schedules_of(spec),
        enforce_parameter_schema=True,
        work_pool_name=pool,
        concurrency_limit=ConcurrencyLimitConfig(
            limit=spec.concurrency.limit,
            collision_strategy=spec.concurrency.collision_strategy,
        ),
    )
    # The path relative to the project root, whatever the current directory: workers
    # enter the root through the pull step (deployments.steps.enter_project).
    deployment.entrypoint = spec.entrypoint
    if pool is not None:
        deployment.storage = _PullSteps([{PULL_STEP: {}}])
    return deployment


def api_url() -> str | None:
    value = PREFECT_API_URL.value()
    return str(value) if value else None


def require_api_url() -> str:
    """Before any client exists: without a URL Prefect would start a temporary in-process
    server, whose deployments, schedules and runs vanish when this command exits."""
    url = api_url()
    if not url:
        raise ServerUnavailable(
            "未设置 PREFECT_API_URL：请先启动 Prefect 服务器（prefect server start），"
            "再设置 PREFECT_API_URL，如 http://127.0.0.1:4200/api"
        )
    return url


async def check_server(client: PrefectClient) -> None:
    url = require_api_url()
    error = await client.api_healthcheck()
    if error is not None:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ServerUnavailable(
            f"无法连接 Prefect 服务器 {url}（{reason[:200]}）：请确认服务器已启动、地址正确"
        )


async def ensure_work_pool(client: PrefectClient, pool: str) -> bool:
    """True when the pool was created now."""
    try:
        existing = await client.read_work_pool(pool)
    except ObjectNotFound:
        from prefect.workers.process import ProcessWorker

        await client.create_work_pool(
            WorkPoolCreate(
                name=pool,
                type="process",
                base_job_template=ProcessWorker.get_default_base_job_template(),
                description="pingan 工作池：worker 以本机进程运行流程",
            )
        )
        return True
    if existing.type != "process":
        raise DeployError(f"工作池 {pool} 的类型是 {existing.type}，应为 process")
    return False


async def ensure_tick_limit(client: PrefectClient, campaign_code: str) -> None:
    name = tick_limit_name(campaign_code)
    try:
        await client.read_global_concurrency_limit_by_name(name)
    except ObjectNotFound:
        await client.create_global_concurrency_limit(
            GlobalConcurrencyLimitCreate(name=name, limit=1)
        )


def zombie_automation(crash_after_s: int) -> AutomationCore:
    return AutomationCore(
        name=ZOMBIE_AUTOMATION,
        description=(
            f"pingan 流程运行超过 {crash_after_s} 秒没有心跳（worker 所在机器宕机或进程被杀），"
            "标记为 Crashed；之后再运行一次即可恢复（巡检与投递都可重复执行）。"
        ),
        enabled=True,
        trigger=EventTrigger(
            after={"prefect.flow-run.heartbeat"},
            expect={
                "prefect.flow-run.heartbeat",
                "prefect.flow-run.Completed",
                "prefect.flow-run.Failed",
                "prefect.flow-run.Cancelled",
                "prefect.flow-run.Crashed",
            },
            match=ResourceSpecification({"prefect.resource.id": ["prefect.flow-run.*"]}),
            match_related=ResourceSpecification(
                {"prefect.resource.role": "tag", "prefect.resource.id": "prefect.tag.pingan"}
            ),
            for_each={"prefect.resource.id"},
            posture=Posture.Proactive,
            threshold=1,
            within=timedelta(seconds=crash_after_s),
        ),
        actions=[
            ChangeFlowRunState(
                state=StateType.CRASHED,
                message=f"超过 {crash_after_s} 秒没有心跳，判定运行进程已中断",
            )
        ],
    )


async def ensure_zombie_automation(client: PrefectClient, crash_after_s: int) -> None:
    """One automation for every pingan deployment; ``crash_after_s`` 0 removes it."""
    existing = await client.read_automations_by_name(ZOMBIE_AUTOMATION)
    if crash_after_s <= 0:
        for a in existing:
            await client.delete_automation(a.id)
        return
    await upsert_automation(client, zombie_automation(crash_after_s))


async def upsert_automation(client: PrefectClient, automation: AutomationCore) -> None:
    """Create the automation, or update the one of the same name (one left)."""
    existing = await client.read_automations_by_name(automation.name)
    if existing:
        await client.update_automation(existing[0].id, automation)
        for extra in existing[1:]:
            await client.delete_automation(extra.id)
    else:
        await client.create_automation(automation)


async def ensure_alerts(
    client: PrefectClient, code: str, alert_deployment_id: UUID, signoff_hours: int
) -> None:
    for automation in campaign_automations(code, alert_deployment_id, signoff_hours):
        await upsert_automation(client, automation)


@dataclass(frozen=True)
class Registered:
    full_name: str
    deployment_id: str
    schedules: int


@dataclass(frozen=True)
class Registration:
    pool: str
    pool_created: bool
    deployments: list[Registered]
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Options:
    """What ``pingan deploy`` and ``pingan serve`` both pass."""

    crash_after_s: int = DEFAULT_CRASH_AFTER_S
    signoff_hours: int = DEFAULT_SIGNOFF_HOURS


async def ensure_extras(client: PrefectClient, campaign_code: str, crash_after_s: int) -> None:
    await ensure_tick_limit(client, campaign_code)
    await ensure_zombie_automation(client, crash_after_s)


def _runner(pool: str | None) -> str:
    return f"工作池 {pool} 的 worker" if pool else "pingan serve 进程"


async def replace_switched(
    client: PrefectClient, specs: Sequence[DeploymentSpec], pool: str | None
) -> list[str]:
    """Deployments registered before by the other path (``pingan deploy`` ↔ ``pingan
    serve``) are deleted so they are created afresh: updated in place, one keeps the
    other's pull steps or missing path, and its next run fails with ``FileNotFoundError:
    '…/None'``. Their past runs stay in the history. What was switched, in Chinese."""
    notes: list[str] = []
    for spec in specs:
        try:
            existing = await client.read_deployment_by_name(spec.full_name)
        except ObjectNotFound:
            continue
        if (existing.work_pool_name or None) == pool:
            continue
        await client.delete_deployment(existing.id)
        notes.append(
            f"部署 {spec.full_name} 原由{_runner(existing.work_pool_name)}运行，"
            f"已重建为由{_runner(pool)}运行（历史运行记录保留）"
        )
    return notes


async def register(
    specs: Sequence[DeploymentSpec], pool: str, options: Options | None = None
) -> Registration:
    """Upsert every deployment (re-running updates them in place) and what they rely on."""
    if not specs:
        raise ValueError("no deployments")
    opts = options or Options()
    check_crash_after(opts.crash_after_s)
    require_api_url()
    async with get_client() as client:
        await check_server(client)
        # Every flow imports before anything is written on the server.
        deployments = [await runner_deployment(s, pool) for s in specs]
        created = await ensure_work_pool(client, pool)
        await ensure_extras(client, specs[0].name, opts.crash_after_s)
        notes = await replace_switched(client, specs, pool)
    done: list[Registered] = []
    for spec, deployment in zip(specs, deployments, strict=True):
        deployment_id = await deployment.aapply()
        done.append(Registered(spec.full_name, str(deployment_id), len(spec.schedules)))
    alert = next((d for s, d in zip(specs, done, strict=True) if s.kind == "alert"), None)
    if alert is not None:
        await _alerts(specs[0].name, UUID(alert.deployment_id), opts.signoff_hours)
    return Registration(pool, created, done, notes)


async def _alerts(code: str, alert_deployment_id: UUID, signoff_hours: int) -> None:
    async with get_client() as client:
        await ensure_alerts(client, code, alert_deployment_id, signoff_hours)


async def prepare_serve(
    specs: Sequence[DeploymentSpec], options: Options | None = None
) -> tuple[list[RunnerDeployment], list[str]]:
    """The deployments ``serve`` runs from this process (no work pool, no pull step), and
    what was switched from ``pingan deploy``. The alert deployment is applied now, so that
    the alert automations can name it; ``serve`` applies the same again."""
    opts = options or Options()
    check_crash_after(opts.crash_after_s)
    require_api_url()
    async with get_client() as client:
        await check_server(client)
        deployments = [await runner_deployment(s, None) for s in specs]
        notes: list[str] = []
        if specs:
            await ensure_extras(client, specs[0].name, opts.crash_after_s)
            notes = await replace_switched(client, specs, None)
    for spec, deployment in zip(specs, deployments, strict=True):
        if spec.kind == "alert":
            await _alerts(spec.name, await deployment.aapply(), opts.signoff_hours)
    return deployments, notes

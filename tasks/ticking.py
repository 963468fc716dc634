"""Tasks of the daily tick: open the campaign, collect, waive, evaluate and plan."""

from __future__ import annotations

from datetime import date
from typing import Any

from prefect import get_run_logger, task
from prefect.artifacts import create_table_artifact

from pingan.adapters.intake.collect import IntakeReport
from pingan.adapters.intake.mail import MailReport
from pingan.adapters.render.item_lines import ITEM_COLUMNS, item_cells
from pingan.core.campaign import artifact_slug
from pingan.core.problems import InputError
from pingan.root import container
from pingan.services.collect import collect_inbox
from pingan.services.mail import collect_mailbox, mail_configured
from pingan.services.tick import (
    CampaignHandle,
    TickResult,
    evaluate_and_plan,
    open_campaign,
    resolve_as_of,
    waive,
)
from tasks.events import emit_overdue
from tasks.policy import TASK_TIMEOUT_S, retry_unless_input_error
from tasks.progress import progress_artifact
from tasks.secrets import prefect_resolvers


@task(
    name="打开创建活动",
    task_run_name="打开创建活动 {code}",
    timeout_seconds=TASK_TIMEOUT_S,
    persist_result=False,
)
def open_campaign_task(code: str, as_of: date | None) -> tuple[CampaignHandle, date]:
    handle = open_campaign(container().engine, code)
    return handle, resolve_as_of(handle, as_of)


@task(
    name="收取报送材料",
    task_run_name="收取报送材料 {handle.campaign.code}",
    timeout_seconds=TASK_TIMEOUT_S,
    retry_condition_fn=retry_unless_input_error,
    persist_result=False,
    retries=2,
    retry_delay_seconds=5,
)
def collect_task(handle: CampaignHandle, inbox: str, as_of: date | None) -> IntakeReport:
    c = container()
    report = collect_inbox(
        c.engine,
        handle,
        inbox,
        c.intake_stores(),
        as_of=as_of,
        progress=progress_artifact(f"{handle.campaign.code}-intake-progress", "收取材料进度"),
    )
    get_run_logger().info(
        "收取材料：合格 %d，重复 %d，退回 %d", report.accepted, report.duplicates, report.rejected
    )
    if report.halted is not None:  # the evidence disk filled: what fitted is recorded
        get_run_logger().warning(report.halted)
    return report


@task(
    name="收取报送邮件",
    task_run_name="收取报送邮件 {handle.campaign.code}",
    timeout_seconds=TASK_TIMEOUT_S,
    persist_result=False,
)
def mail_task(handle: CampaignHandle, as_of: date | None) -> MailReport | None:
    """The campaign's mailbox, when its YAML has a mail_intake section; else nothing.

    A mailbox that cannot be read (server down, wrong 授权码) is logged as an error and
    does not stop the tick: reminders and escalations still go out, and the mails wait."""
    if not mail_configured(handle):
        return None
    c = container()
    try:
        report = collect_mailbox(
            c.engine,
            handle,
            c.intake_stores(),
            c.secret_resolver(*prefect_resolvers()),
            as_of=as_of,
            progress=progress_artifact(f"{handle.campaign.code}-mail-progress", "收取邮件进度"),
        )
    except InputError as exc:
        for p in exc.problems:
            get_run_logger().error("收取邮件失败：%s", p.message)
        return None
    f = report.files
    get_run_logger().info(
        "收取邮件 %d 封（忽略 %d，整封退回 %d）：合格 %d，重复 %d，退回 %d",
        report.mails,
        report.ignored,
        report.refused,
        f.accepted,
        f.duplicates,
        f.rejected,
    )
    return report


@task(
    name="豁免或恢复义务",
    task_run_name="豁免或恢复 {handle.campaign.code} {gate}",
    timeout_seconds=TASK_TIMEOUT_S,
    persist_result=False,
)
def waive_task(
    handle: CampaignHandle, gate: str, units: list[str], reason: str, actor: str, reopen: bool
) -> int:
    return waive(
        container().engine,
        handle,
        gate_key=gate,
        unit_codes=units,
        reason=reason,
        actor=actor,
        reopen=reopen,
    )


@task(
    name="评估义务并安排通知",
    task_run_name="计算状态并安排通知 {handle.campaign.code} {as_of}",
    timeout_seconds=TASK_TIMEOUT_S,
    retry_condition_fn=retry_unless_input_error,
    persist_result=False,
    retries=2,
    retry_delay_seconds=10,
)
def evaluate_and_plan_task(handle: CampaignHandle, as_of: date, dry_run: bool) -> TickResult:
    c = container()
    result = evaluate_and_plan(c.engine, handle, as_of, dry_run=dry_run, portal=c.settings)
    p = result.plan
    get_run_logger().info(
        "%s 巡检：提醒 %d，逾期督办 %d，汇总 %d", as_of, p.reminders, p.escalations, p.digests
    )
    publish_worst_items(handle, result)
    if not dry_run:
        emit_overdue(handle.campaign.code, as_of, result.overdue_by_level)
    return result


def publish_worst_items(handle: CampaignHandle, result: TickResult) -> str:
    """The most overdue items as a table artifact (bounded: WORST_ITEMS rows), with the
    count of overdue items per ladder level; `pingan status --items` lists them all."""
    key = artifact_slug(f"{handle.campaign.code}-overdue-items")
    levels = "，".join(f"第{k}级 {n} 项" for k, n in result.overdue_by_level.items())
    total = sum(result.overdue_by_level.values())
    create_table_artifact(
        key=key,
        table=[dict(zip(ITEM_COLUMNS, item_cells(i), strict=True)) for i in result.worst],
        description=(
            f"截至 {result.as_of} 逾期事项 {total} 项{f'（{levels}）' if levels else ''}；"
            f"此处列出逾期最久的 {len(result.worst)} 项，全部见 pingan status --items"
        ),
    )
    return key


def as_dict(report: IntakeReport | None, mail: MailReport | None = None) -> dict[str, Any] | None:
    """Intake counts for the outputs and artifacts: the inbox's and the mail's together."""
    reports = [r for r in (report, mail.files if mail else None) if r is not None]
    if not reports:
        return None
    keys = ("accepted", "duplicates", "rejected", "late")
    return {k: sum(getattr(r, k) for r in reports) for k in keys}

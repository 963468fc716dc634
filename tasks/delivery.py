"""Deliver the outbox: one task per dispatch run, whatever the number of messages."""

from __future__ import annotations

from prefect import get_run_logger, task

from pingan.adapters.outbox import DispatchReport
from pingan.root import container
from pingan.services.dispatch import run_dispatch
from pingan.services.tick import CampaignHandle
from tasks.events import emit_deliveries_dead
from tasks.policy import DISPATCH_TIMEOUT_S
from tasks.progress import progress_artifact
from tasks.secrets import prefect_resolvers


@task(
    name="投递通知",
    task_run_name="投递通知 {handle.campaign.code}",
    timeout_seconds=DISPATCH_TIMEOUT_S,
    persist_result=False,
)
def dispatch_task(
    handle: CampaignHandle, respect_quiet_hours: bool = True, wait_up_to_s: float = 0
) -> DispatchReport:
    c = container()
    report = run_dispatch(
        c.engine,
        handle,
        c.delivery(*prefect_resolvers()),
        c.settings,
        now_fn=c.clock,
        respect_quiet_hours=respect_quiet_hours,
        wait_up_to_s=wait_up_to_s,
        progress=progress_artifact(f"{handle.campaign.code}-dispatch-progress", "投递进度"),
    )
    get_run_logger().info("投递：%s", report.summary_zh(handle.campaign.timezone))
    emit_deliveries_dead(handle.campaign.code, report.dead, report.as_dict().get("errors"))
    return report

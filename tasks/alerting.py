"""The alert flow's task: queue one operator alert in the campaign's outbox."""

from __future__ import annotations

from prefect import get_run_logger, task

from pingan.core.alerts import AlertFacts
from pingan.root import container
from pingan.services.alert import queue_alert
from pingan.services.tick import CampaignHandle
from tasks.policy import TASK_TIMEOUT_S, retry_unless_input_error


@task(
    name="安排告警通知",
    task_run_name="安排告警通知 {handle.campaign.code} {facts.kind}",
    timeout_seconds=TASK_TIMEOUT_S,
    retry_condition_fn=retry_unless_input_error,
    retries=2,
    retry_delay_seconds=5,
    persist_result=False,
)
def queue_alert_task(handle: CampaignHandle, facts: AlertFacts) -> int:
    queued = queue_alert(container().engine, handle, facts)
    get_run_logger().info("告警 %s：新安排 %d 条（已安排过的不重复）", facts.kind, queued)
    return queued

"""Tasks of the phone sign-off: each wraps one call of pingan.services.signoff."""

from __future__ import annotations

from datetime import date

from prefect import get_run_logger, task
from prefect.artifacts import create_markdown_artifact

from pingan.core.acceptance import AcceptanceResults
from pingan.core.campaign import artifact_slug
from pingan.root import container
from pingan.services import signoff
from pingan.services.tick import CampaignHandle


@task(name="发送签批链接", persist_result=False)
def issue_signoff_links_task(
    handle: CampaignHandle, pause: signoff.PauseRef, res: AcceptanceResults, today: date
) -> int:
    c = container()
    n = signoff.issue_signoff_links(c.engine, handle, pause, res, c.settings, today)
    log = get_run_logger()
    if n:
        log.info("已向 %d 位签批人发送手机签批链接（随下次投递发出）", n)
    elif handle.campaign.acceptance.approvers:
        log.warning("未配置门户地址或签名密钥（PINGAN_PORTAL_*），签批链接未发送，请在此表单签批")
    return n


@task(name="提醒签批人", persist_result=False)
def remind_approvers_task(handle: CampaignHandle, as_of: date) -> int:
    c = container()
    n = signoff.remind_approvers(c.engine, handle, as_of, c.clock())
    if n:
        get_run_logger().info("已安排 %d 条签批提醒", n)
    return n


@task(name="关闭签批链接", persist_result=False)
def close_signoff_links_task(handle: CampaignHandle, flow_run_id: str, reason: str) -> int:
    return signoff.close_signoff_links(container().engine, handle, flow_run_id, reason)


@task(name="记录等待结束", persist_result=False)
def wait_ended_task(handle: CampaignHandle, title: str, message: str) -> None:
    """Why the run ended without an answer, where the operator looks first: the run's
    artifacts and its log (Prefect itself words the final state in English)."""
    get_run_logger().warning("%s", message)
    create_markdown_artifact(
        key=f"{artifact_slug(handle.campaign.code)}-acceptance-ended",
        markdown=f"## 考核验收：{title}\n\n{message}",
        description=f"考核验收{title}",
    )

"""Deliver queued notifications (also run at the end of every tick)."""

from __future__ import annotations

from typing import Annotated

from prefect import flow

from flows.outputs import DeliveryOutput
from flows.params import CampaignParam, zh
from tasks.delivery import dispatch_task
from tasks.policy import DISPATCH_TIMEOUT_S, run_namer
from tasks.ticking import open_campaign_task


@flow(
    name="pingan-dispatch",
    description="投递通知：按渠道发送待发消息，失败按退避重试，超过上限放弃。",
    flow_run_name=run_namer("投递", dated=False),
    timeout_seconds=DISPATCH_TIMEOUT_S,
)
def dispatch(
    campaign: CampaignParam,
    respect_quiet_hours: Annotated[bool, zh("遵守免打扰时段与非工作日", "关闭时立即发送")] = True,
    wait_up_to_s: Annotated[
        float,
        zh("等待限流窗口的最长秒数", "0 表示不等待", ge=0, le=3600),
    ] = 0,
) -> DeliveryOutput:
    handle, _ = open_campaign_task(campaign, None)
    return DeliveryOutput.of(dispatch_task(handle, respect_quiet_hours, wait_up_to_s))

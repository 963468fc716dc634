"""Deliver queued notifications (also run at the end of every tick)."""

from __future__ import annotations

from prefect import flow
from pydantic import BaseModel, Field

from flows.outputs import DeliveryOutput
from tasks.delivery import dispatch_task
from tasks.ticking import open_campaign_task


class DispatchInput(BaseModel):
    campaign: str = Field(title="创建活动编码", min_length=1)
    respect_quiet_hours: bool = Field(True, title="遵守免打扰时段与非工作日")
    wait_up_to_s: float = Field(0, title="等待限流窗口的最长秒数", ge=0, le=3600)


@flow(
    name="pingan-dispatch",
    description="投递通知：按渠道发送待发消息，失败按退避重试，超过上限放弃。",
)
def dispatch(params: DispatchInput) -> DeliveryOutput:
    handle, _ = open_campaign_task(params.campaign, None)
    report = dispatch_task(handle, params.respect_quiet_hours, params.wait_up_to_s)
    return DeliveryOutput.of(report)

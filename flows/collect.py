"""Intake alone: take in what arrived in an inbox (or a manifest) and report it."""

from __future__ import annotations

from datetime import date

from prefect import flow
from pydantic import BaseModel, Field

from flows.outputs import IntakeOutput
from tasks.ticking import as_dict, collect_task, mail_task, open_campaign_task


class CollectInput(BaseModel):
    campaign: str = Field(title="创建活动编码", min_length=1)
    inbox: str | None = Field(
        None, title="报送目录", description="本地路径或 fsspec 地址；留空只收取邮件"
    )
    mail: bool = Field(
        True, title="收取报送邮件", description="活动配置了 mail_intake 邮箱时收取其中的报送邮件"
    )
    as_of: date | None = Field(None, title="收取日期", description="默认为当前时间")


@flow(
    name="pingan-collect",
    description="收取报送材料：合格的登记入库，不合格的移入隔离区并说明原因。",
)
def collect(params: CollectInput) -> IntakeOutput:
    handle, _ = open_campaign_task(params.campaign, None)
    intake = collect_task(handle, params.inbox, params.as_of) if params.inbox is not None else None
    mail = mail_task(handle, params.as_of) if params.mail else None
    counts = as_dict(intake, mail) or {"accepted": 0, "duplicates": 0, "rejected": 0, "late": 0}
    return IntakeOutput.model_validate(counts)

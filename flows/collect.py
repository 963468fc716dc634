"""Intake alone: take in what arrived in an inbox (or a manifest) and report it."""

from __future__ import annotations

from typing import Annotated

from prefect import flow

from flows.outputs import IntakeOutput
from flows.params import AsOfParam, CampaignParam, zh
from tasks.policy import FLOW_TIMEOUT_S, run_namer
from tasks.ticking import as_dict, collect_task, mail_task, open_campaign_task


@flow(
    name="pingan-collect",
    description="收取报送材料：合格的登记入库，不合格的移入隔离区并说明原因。",
    flow_run_name=run_namer("收取材料"),
    timeout_seconds=FLOW_TIMEOUT_S,
)
def collect(
    campaign: CampaignParam,
    inbox: Annotated[
        str | None,
        zh("报送目录", "本地路径或 fsspec 地址；留空只收取邮件"),
    ] = None,
    mail: Annotated[
        bool,
        zh(
            "收取报送邮件",
            "活动配置了 mail_intake 邮箱时收取其中的报送邮件",
        ),
    ] = True,
    as_of: AsOfParam = None,
) -> IntakeOutput:
    handle, _ = open_campaign_task(campaign, None)
    intake = collect_task(handle, inbox, as_of) if inbox is not None else None
    mail_report = mail_task(handle, as_of) if mail else None
    counts = as_dict(intake, mail_report) or {
        "accepted": 0,
        "duplicates": 0,
        "rejected": 0,
        "late": 0,
    }
    return IntakeOutput.model_validate(counts)

"""The daily tick: collect → waive → evaluate and plan → publish. Only sequences tasks."""

from __future__ import annotations

from typing import Annotated

from prefect import flow
from pydantic import BaseModel, Field

from flows.outputs import DeliveryOutput, IntakeOutput, TickOutput
from flows.params import AsOfParam, CampaignParam, zh
from tasks.artifacts import publish_tick_artifacts
from tasks.delivery import dispatch_task
from tasks.limits import campaign_slot
from tasks.policy import FLOW_TIMEOUT_S, run_namer
from tasks.signoff import remind_approvers_task
from tasks.ticking import (
    as_dict,
    collect_task,
    evaluate_and_plan_task,
    mail_task,
    open_campaign_task,
    waive_task,
)


class WaiverInput(BaseModel):
    gate: str = Field(title="事项键", description="如 self-check", min_length=1)
    units: list[str] = Field(title="单位编码", min_length=1)
    reason: str = Field(title="理由", min_length=1)
    reopen: bool = Field(False, title="撤销豁免（恢复义务）")
    actor: str = Field("prefect-ui", title="操作人")


@flow(
    name="pingan-tick",
    description="每日巡检：收取材料、评估义务、安排提醒与逐级督办、发布进度。",
    flow_run_name=run_namer("巡检"),
    timeout_seconds=FLOW_TIMEOUT_S,
)
def tick(
    campaign: CampaignParam,
    as_of: AsOfParam = None,
    dry_run: Annotated[bool, zh("试运行", "只计算不写入")] = False,
    inbox: Annotated[
        str | None,
        zh("报送目录", "本地路径或 fsspec 地址；留空不收取"),
    ] = None,
    mail: Annotated[
        bool,
        zh(
            "收取报送邮件",
            "活动配置了 mail_intake 邮箱时收取其中的报送邮件",
        ),
    ] = True,
    waivers: Annotated[
        list[WaiverInput] | None,
        zh("豁免或恢复", "每项填写事项键、单位编码和理由"),
    ] = None,
    dispatch: Annotated[bool, zh("随即投递通知", "否则由投递部署或下次巡检投递")] = True,
    respect_quiet_hours: Annotated[bool, zh("遵守免打扰时段与非工作日", "关闭时立即发送")] = True,
) -> TickOutput:
    handle, day = open_campaign_task(campaign, as_of)
    # Where a Prefect server has a global limit of this name, it keeps ticks apart across
    # workers; the database lease inside evaluate_and_plan does so everywhere.
    with campaign_slot(f"pingan-tick-{campaign}"):
        intake = mail_report = None
        if inbox and not dry_run:
            intake = collect_task(handle, inbox, as_of)
        if mail and not dry_run:
            mail_report = mail_task(handle, as_of)
        for w in [] if dry_run else waivers or []:
            waive_task(handle, w.gate, w.units, w.reason, w.actor, w.reopen)
        result = evaluate_and_plan_task(handle, day, dry_run)
        if handle.campaign.acceptance.approvers and not dry_run:
            remind_approvers_task(handle, day)  # a sign-off still waiting (issue 14)
    delivery = None
    if dispatch and not dry_run:
        delivery = DeliveryOutput.of(dispatch_task(handle, respect_quiet_hours))
    intake_out = as_dict(intake, mail_report)
    publish_tick_artifacts(result, intake_out, delivery.model_dump() if delivery else None)
    return TickOutput(
        as_of=day,
        dry_run=dry_run,
        reminders=result.plan.reminders,
        escalations=result.plan.escalations,
        digests=result.plan.digests,
        obligations=result.status["obligations"],
        intake=IntakeOutput.model_validate(intake_out) if intake_out else None,
        delivery=delivery,
    )

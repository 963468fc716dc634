"""The daily tick: collect → waive → evaluate and plan → publish. Only sequences tasks."""

from __future__ import annotations

from datetime import date

from prefect import flow
from pydantic import BaseModel, Field

from flows.outputs import DeliveryOutput, IntakeOutput, TickOutput
from tasks.artifacts import publish_tick_artifacts
from tasks.delivery import dispatch_task
from tasks.limits import campaign_slot
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
    gate: str = Field(title="事项键", description="如 self-check")
    units: list[str] = Field(title="单位编码", min_length=1)
    reason: str = Field(title="理由", min_length=1)
    reopen: bool = Field(False, title="撤销豁免（恢复义务）")
    actor: str = Field("prefect-ui", title="操作人")


class TickInput(BaseModel):
    campaign: str = Field(title="创建活动编码", min_length=1)
    as_of: date | None = Field(None, title="计算日期", description="默认为活动时区的今天")
    dry_run: bool = Field(False, title="试运行", description="只计算不写入")
    inbox: str | None = Field(
        None, title="报送目录", description="本地路径或 fsspec 地址；留空不收取"
    )
    mail: bool = Field(
        True, title="收取报送邮件", description="活动配置了 mail_intake 邮箱时收取其中的报送邮件"
    )
    waivers: list[WaiverInput] = Field(default_factory=list, title="豁免或恢复")
    dispatch: bool = Field(True, title="随即投递通知")
    respect_quiet_hours: bool = Field(True, title="遵守免打扰时段与非工作日")


@flow(
    name="pingan-tick", description="每日巡检：收取材料、评估义务、安排提醒与逐级督办、发布进度。"
)
def tick(params: TickInput) -> TickOutput:
    handle, as_of = open_campaign_task(params.campaign, params.as_of)
    # Where a Prefect server has a global limit of this name, it keeps ticks apart across
    # workers; the database lease inside evaluate_and_plan does so everywhere.
    with campaign_slot(f"pingan-tick-{params.campaign}"):
        intake = mail = None
        if params.inbox and not params.dry_run:
            intake = collect_task(handle, params.inbox, params.as_of)
        if params.mail and not params.dry_run:
            mail = mail_task(handle, params.as_of)
        for w in params.waivers if not params.dry_run else []:
            waive_task(handle, w.gate, w.units, w.reason, w.actor, w.reopen)
        result = evaluate_and_plan_task(handle, as_of, params.dry_run)
        if handle.campaign.acceptance.approvers and not params.dry_run:
            remind_approvers_task(handle, as_of)  # a sign-off still waiting (issue 14)
    delivery = None
    if params.dispatch and not params.dry_run:
        delivery = DeliveryOutput.of(dispatch_task(handle, params.respect_quiet_hours))
    intake_out = as_dict(intake, mail)
    publish_tick_artifacts(result, intake_out, delivery.model_dump() if delivery else None)
    return TickOutput(
        as_of=as_of,
        dry_run=params.dry_run,
        reminders=result.plan.reminders,
        escalations=result.plan.escalations,
        digests=result.plan.digests,
        obligations=result.status["obligations"],
        intake=IntakeOutput.model_validate(intake_out) if intake_out else None,
        delivery=delivery,
    )

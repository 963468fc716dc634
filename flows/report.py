"""The progress report: build the files → plan the weekly bulletin → deliver → publish."""

from __future__ import annotations

from datetime import date

from prefect import flow
from pydantic import BaseModel, Field

from flows.outputs import BulletinOutput, DeliveryOutput, ReportOutput
from tasks.delivery import dispatch_task
from tasks.reporting import build_report_task, plan_bulletin_task, publish_report_artifacts
from tasks.ticking import open_campaign_task


class ReportInput(BaseModel):
    campaign: str = Field(title="创建活动编码", min_length=1)
    as_of: date | None = Field(None, title="统计日期", description="默认为活动时区的今天")
    out_dir: str | None = Field(
        None,
        title="输出目录",
        description="默认为 PINGAN_OUTPUT_DIR（未设置时 .pingan/output）下的“活动编码/reports”",
    )
    bulletin: bool = Field(
        True,
        title="同时发送周通报",
        description="向各牵头单位和综治委各发一份本周通报（同一周重复运行不重复发送）",
    )
    dispatch: bool = Field(True, title="随即投递通报", description="否则随下次巡检投递")


@flow(
    name="pingan-report",
    description="创建工作进展报告：生成含图表的 HTML 报告和年度综治考核用 XLSX 工作簿，"
    "并向各牵头单位和综治委发送周通报。",
)
def report(params: ReportInput) -> ReportOutput:
    handle, as_of = open_campaign_task(params.campaign, params.as_of)
    run = build_report_task(handle, as_of, params.out_dir)
    bulletin = plan_bulletin_task(handle, as_of, run.paths) if params.bulletin else None
    delivery = None
    if bulletin is not None and bulletin.planned and params.dispatch:
        delivery = DeliveryOutput.of(dispatch_task(handle))
    publish_report_artifacts(handle.campaign.code, run, bulletin)
    return ReportOutput(
        as_of=as_of,
        html=str(run.paths.html),
        xlsx=str(run.paths.xlsx),
        coverage=run.coverage,
        pass_rate=run.pass_rate,
        red=run.red,
        bulletin=BulletinOutput.model_validate(bulletin, from_attributes=True)
        if bulletin
        else None,
        delivery=delivery,
    )

"""The progress report: build the files → plan the weekly bulletin → deliver → publish."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date

from prefect import flow
from pydantic import BaseModel, Field

from tasks.delivery import dispatch_task
from tasks.reporting import build_report_task, plan_bulletin_task, publish_report_artifacts
from tasks.ticking import open_campaign_task


class ReportInput(BaseModel):
    """Fields may be added with defaults; callers that omit them keep working."""

    campaign: str = Field("xucheng-2017", title="创建活动编码")
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
def report(params: ReportInput | None = None) -> dict[str, object]:
    params = params or ReportInput()
    handle, as_of = open_campaign_task(params.campaign, params.as_of)
    run = build_report_task(handle, as_of, params.out_dir)
    bulletin = plan_bulletin_task(handle, as_of, run.paths) if params.bulletin else None
    delivery = None
    if bulletin is not None and bulletin.planned and params.dispatch:
        delivery = dispatch_task(handle).as_dict()
    publish_report_artifacts(handle.campaign.code, run, bulletin)
    return {
        "as_of": as_of.isoformat(),
        "html": str(run.paths.html),
        "xlsx": str(run.paths.xlsx),
        "coverage": run.coverage,
        "pass_rate": run.pass_rate,
        "red": run.red,
        "bulletin": asdict(bulletin) if bulletin is not None else None,
        "delivery": delivery,
    }

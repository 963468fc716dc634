"""The progress report: build the files → plan the weekly bulletin → deliver → publish."""

from __future__ import annotations

from typing import Annotated

from prefect import flow

from flows.outputs import BulletinOutput, DeliveryOutput, ReportOutput
from flows.params import AsOfParam, CampaignParam, zh
from tasks.delivery import dispatch_task
from tasks.policy import FLOW_TIMEOUT_S, run_namer
from tasks.reporting import build_report_task, plan_bulletin_task, publish_report_artifacts
from tasks.ticking import open_campaign_task


@flow(
    name="pingan-report",
    description="创建工作进展报告：生成含图表的 HTML 报告和年度综治考核用 XLSX 工作簿，"
    "并向各牵头单位和综治委发送周通报。",
    flow_run_name=run_namer("进展报告"),
    timeout_seconds=FLOW_TIMEOUT_S,
)
def report(
    campaign: CampaignParam,
    as_of: AsOfParam = None,
    out_dir: Annotated[
        str | None,
        zh(
            "输出目录",
            "默认为 PINGAN_OUTPUT_DIR（未设置时 .pingan/output）下的“活动编码/reports”",
        ),
    ] = None,
    bulletin: Annotated[
        bool,
        zh(
            "同时发送周通报",
            "向各牵头单位和综治委各发一份本周通报（同一周重复运行不重复发送）",
        ),
    ] = True,
    dispatch: Annotated[bool, zh("随即投递通报", "否则随下次巡检投递")] = True,
) -> ReportOutput:
    handle, day = open_campaign_task(campaign, as_of)
    run = build_report_task(handle, day, out_dir)
    plan = plan_bulletin_task(handle, day, run.paths) if bulletin else None
    delivery = None
    if plan is not None and plan.planned and dispatch:
        delivery = DeliveryOutput.of(dispatch_task(handle))
    publish_report_artifacts(handle.campaign.code, run, plan)
    return ReportOutput(
        as_of=day,
        html=str(run.paths.html),
        xlsx=str(run.paths.xlsx),
        coverage=run.coverage,
        pass_rate=run.pass_rate,
        red=run.red,
        bulletin=BulletinOutput.model_validate(plan, from_attributes=True) if plan else None,
        delivery=delivery,
    )

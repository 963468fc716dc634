"""Tasks of the report flow: build the report, plan the weekly bulletin, publish artifacts."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from prefect import get_run_logger, task
from prefect.artifacts import create_markdown_artifact

from pingan.adapters.db.planner import BulletinPlan
from pingan.adapters.publish import publish
from pingan.adapters.render.report import ReportPaths
from pingan.core.campaign import artifact_slug
from pingan.root import container
from pingan.services.report import ReportRun, plan_weekly_bulletin, run_report
from pingan.services.tick import CampaignHandle
from tasks.links import publish_links
from tasks.policy import TASK_TIMEOUT_S, retry_unless_input_error


@task(
    name="生成进展报告",
    task_run_name="生成进展报告 {handle.campaign.code} {as_of}",
    timeout_seconds=TASK_TIMEOUT_S,
    retry_condition_fn=retry_unless_input_error,
    persist_result=False,
    retries=1,
    retry_delay_seconds=10,
)
def build_report_task(handle: CampaignHandle, as_of: date, out_dir: str | None) -> ReportRun:
    c = container()
    target = Path(out_dir) if out_dir else c.reports_dir(handle.campaign.code)
    run = run_report(c.engine, handle, as_of, target, c.settings.font_path)
    get_run_logger().info("已生成 %s 的报告：%s，%s", as_of, run.paths.html, run.paths.xlsx)
    return run


@task(
    name="安排周通报",
    task_run_name="安排周通报 {handle.campaign.code} {as_of}",
    timeout_seconds=TASK_TIMEOUT_S,
    retry_condition_fn=retry_unless_input_error,
    persist_result=False,
    retries=2,
    retry_delay_seconds=5,
)
def plan_bulletin_task(handle: CampaignHandle, as_of: date, paths: ReportPaths) -> BulletinPlan:
    plan = plan_weekly_bulletin(container().engine, handle, as_of, paths)
    get_run_logger().info(
        "周通报 %s：收件单位 %d 个，新安排 %d 份", plan.week, plan.recipients, plan.planned
    )
    return plan


@task(
    name="发布报告",
    task_run_name="发布报告 {campaign_code}",
    timeout_seconds=TASK_TIMEOUT_S,
    persist_result=False,
)
def publish_report_artifacts(
    campaign_code: str, run: ReportRun, bulletin: BulletinPlan | None
) -> tuple[str, str]:
    slug = artifact_slug(campaign_code)
    summary_key, link_key = f"{slug}-report", f"{slug}-report-link"
    markdown = run.markdown
    if bulletin is not None:
        markdown += (
            f"\n## 周通报\n- {bulletin.week}：收件单位 {bulletin.recipients} 个，"
            f"本次新安排 {bulletin.planned} 份（每周每单位一份）\n"
        )
    create_markdown_artifact(
        key=summary_key, markdown=markdown, description=f"{run.as_of} 创建工作进展报告摘要"
    )
    published = publish(
        container().output_store(),
        [run.paths.html, run.paths.xlsx],
        f"{slug}/reports/{run.as_of.isoformat()}",
    )
    publish_links(link_key, published, f"{run.as_of} 创建工作进展报告")
    return summary_key, link_key

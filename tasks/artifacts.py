"""Publish the tick's results to the Prefect UI as artifacts (keys: [a-z0-9-] only)."""

from __future__ import annotations

from typing import Any

from prefect import task
from prefect.artifacts import create_markdown_artifact, create_table_artifact

from pingan.adapters.render.tick_summary import colour_table, summary_markdown
from pingan.core.campaign import artifact_slug
from pingan.services.tick import TickResult
from tasks.events import emit_tick_completed
from tasks.policy import TASK_TIMEOUT_S


@task(
    name="发布巡检结果",
    task_run_name="发布巡检结果 {result.as_of}",
    timeout_seconds=TASK_TIMEOUT_S,
    persist_result=False,
)
def publish_tick_artifacts(
    result: TickResult,
    intake: dict[str, Any] | None = None,
    delivery: dict[str, Any] | None = None,
) -> tuple[str, str]:
    slug = artifact_slug(result.status["campaign"])
    table_key = f"{slug}-status-colours"
    summary_key = f"{slug}-tick-summary"
    create_table_artifact(
        key=table_key,
        table=colour_table(result.status),
        description=f"{result.status['name']}：截至 {result.as_of} 各领域报送义务状态（按颜色）",
    )
    create_markdown_artifact(
        key=summary_key,
        markdown=summary_markdown(result, intake, delivery),
        description=f"{result.as_of} 巡检摘要",
    )
    p = result.plan
    counts = {"reminders": p.reminders, "escalations": p.escalations, "digests": p.digests}
    emit_tick_completed(result.status["campaign"], result.as_of, counts, dry_run=result.dry_run)
    return table_key, summary_key

"""Tasks of acceptance and awards: each wraps one call of a pingan.services use case."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from prefect import get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact

from pingan.adapters.publish import publish
from pingan.adapters.render.acceptance import (
    awards_markdown,
    failed_markdown,
    results_table,
    signoff_markdown,
)
from pingan.core.acceptance import AcceptanceResults, SignOffRequest
from pingan.core.campaign import artifact_slug
from pingan.core.problems import Problem
from pingan.core.scores import CellRef
from pingan.root import container
from pingan.services import acceptance
from pingan.services import award as awarding
from pingan.services.documents import write_documents
from pingan.services.tick import CampaignHandle
from tasks.links import publish_links
from tasks.policy import TASK_TIMEOUT_S
from tasks.progress import progress_artifact


@task(name="核对现场评分单位", persist_result=False)
def onsite_cells_task(handle: CampaignHandle, codes: Sequence[str]) -> list[CellRef]:
    return acceptance.onsite_cells(container().engine, handle, codes)


@task(name="保存现场评分", persist_result=False)
def store_onsite_task(
    handle: CampaignHandle,
    cells: Sequence[CellRef],
    values: Mapping[str, Any],
    assessed_on: date,
    actor: str,
) -> dict[str, int] | list[Problem]:
    """The counts stored, or the form's problems (the flow asks again; the task succeeds)."""
    counts = acceptance.try_store_onsite(
        container().engine, handle, cells, values, assessed_on=assessed_on, actor=actor
    )
    if isinstance(counts, dict):
        get_run_logger().info("现场评分已保存：%s", counts)
    return counts


@task(name="统计验收结果", persist_result=False)
def results_task(handle: CampaignHandle, as_of: date) -> AcceptanceResults:
    return acceptance.results(container().engine, handle, as_of)


@task(name="发布验收结果", persist_result=False)
def publish_results_task(handle: CampaignHandle, res: AcceptanceResults) -> None:
    slug = artifact_slug(handle.campaign.code)
    create_table_artifact(
        key=f"{slug}-acceptance-results",
        table=results_table(res),
        description=f"{handle.campaign.name}：截至 {res.as_of} 各领域考核验收结果",
    )
    create_markdown_artifact(
        key=f"{slug}-acceptance-failed",
        markdown=failed_markdown(res),
        description="未达标单位及原因",
    )


@task(name="记录签批", persist_result=False)
def signoff_task(
    handle: CampaignHandle, request: SignOffRequest, actor: str
) -> acceptance.SignOffOutcome:
    """The sign-off recorded, or why not (the flow asks again; the task succeeds)."""
    outcome = acceptance.try_sign_off(
        container().engine, handle, request, actor=actor, source="prefect-ui"
    )
    if outcome.signoff is not None:
        create_markdown_artifact(
            key=f"{artifact_slug(handle.campaign.code)}-signoff",
            markdown=signoff_markdown(outcome.signoff, handle.campaign.timezone),
            description="综治委签批",
        )
    return outcome


@task(
    name="撤销命名",
    task_run_name="撤销命名 {target}",
    timeout_seconds=TASK_TIMEOUT_S,
    persist_result=False,
)
def revoke_task(handle: CampaignHandle, target: str, reason: str, actor: str) -> str:
    a = awarding.revoke(container().engine, handle, target=target, reason=reason, actor=actor)
    get_run_logger().info("已撤销 %s（%s）", a.number, a.cell_name)
    return a.number


@task(
    name="命名编号并安排通知",
    task_run_name="命名编号 {handle.campaign.code} {as_of}",
    timeout_seconds=TASK_TIMEOUT_S,
    persist_result=False,
)
def grant_task(handle: CampaignHandle, as_of: date, actor: str, notify: bool) -> awarding.AwardRun:
    c = container()
    run = awarding.grant(
        c.engine, handle, key=c.award_key(), as_of=as_of, actor=actor, notify=notify
    )
    get_run_logger().info(
        "命名 %d 个（待下次签批 %d，暂缓 %d），通知 %d 条",
        len(run.new_award_ids),
        run.waiting,
        run.excluded,
        run.notices,
    )
    return run


@task(
    name="生成证书与公示名单",
    task_run_name="生成证书 {handle.campaign.code}",
    timeout_seconds=TASK_TIMEOUT_S,
    persist_result=False,
)
def documents_task(
    handle: CampaignHandle, award_ids: Sequence[int] | None, regenerate: bool
) -> dict[str, Any]:
    c = container()
    docs = write_documents(
        c.engine,
        handle,
        out_dir=c.output_dir(handle.campaign.code),
        font_path=c.settings.font_path,
        award_ids=None if regenerate else award_ids,
        progress=progress_artifact(f"{handle.campaign.code}-certificates-progress", "证书生成进度"),
        verify_base_url=c.settings.portal_base_url,
    )
    slug = artifact_slug(handle.campaign.code)
    lists = [docs.public_list_pdf, docs.public_list_xlsx]
    published = publish(c.output_store(), lists, f"{slug}/public-list")
    publish_links(f"{slug}-public-list", published, "命名公示名单")
    return docs.as_dict()


@task(
    name="发布命名结果",
    task_run_name="发布命名结果 {handle.campaign.code}",
    timeout_seconds=TASK_TIMEOUT_S,
    persist_result=False,
)
def publish_awards_task(
    handle: CampaignHandle, new: int, documents: Mapping[str, Any] | None
) -> None:
    awards = awarding.listing(container().engine, handle)
    create_markdown_artifact(
        key=f"{artifact_slug(handle.campaign.code)}-awards",
        markdown=awards_markdown(awards, documents, new),
        description="命名挂牌结果",
    )

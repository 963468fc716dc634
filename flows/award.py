"""命名挂牌: revocations, then numbered awards for signed-off cells, certificates, the public
list and notices. Re-running awards nobody twice and renumbers nothing."""

from __future__ import annotations

from datetime import date

from prefect import flow
from pydantic import BaseModel, Field

from flows.outputs import AwardOutput
from tasks.awarding import documents_task, grant_task, publish_awards_task, revoke_task
from tasks.ticking import open_campaign_task


class RevokeInput(BaseModel):
    target: str = Field(title="证书编号或单位编码", min_length=1)
    reason: str = Field(title="撤销理由", min_length=1, max_length=500)


class AwardInput(BaseModel):
    campaign: str = Field(title="创建活动编码", min_length=1)
    as_of: date | None = Field(None, title="日期", description="默认为活动时区的今天")
    grant: bool = Field(True, title="对已签批的达标单位命名")
    notify: bool = Field(True, title="通知获评单位及牵头单位")
    regenerate: bool = Field(False, title="重新生成全部证书")
    revocations: list[RevokeInput] = Field(default_factory=list, title="撤销命名")
    actor: str = Field("prefect-ui", title="操作人")


@flow(
    name="pingan-award",
    description="命名挂牌：为签批通过的达标单位编号、生成证书与公示名单并通知；可撤销命名。",
)
def award(params: AwardInput) -> AwardOutput:
    handle, as_of = open_campaign_task(params.campaign, params.as_of)
    revoked = [revoke_task(handle, r.target, r.reason, params.actor) for r in params.revocations]
    new_ids: list[int] = []
    run = None
    if params.grant:
        run = grant_task(handle, as_of, params.actor, params.notify)
        new_ids = run.new_award_ids
    documents = documents_task(handle, new_ids, params.regenerate)
    publish_awards_task(handle, len(new_ids), documents)
    return AwardOutput(
        as_of=as_of,
        awarded=len(new_ids),
        waiting=run.waiting if run else 0,
        excluded=run.excluded if run else 0,
        notices=run.notices if run else 0,
        revoked=revoked,
        documents=documents,
    )

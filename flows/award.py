"""命名挂牌: revocations, then numbered awards for signed-off cells, certificates, the public
list and notices. Re-running awards nobody twice and renumbers nothing."""

from __future__ import annotations

from typing import Annotated

from prefect import flow
from pydantic import BaseModel, Field

from flows.outputs import AwardOutput
from flows.params import ActorParam, AsOfParam, CampaignParam, zh
from tasks.awarding import documents_task, grant_task, publish_awards_task, revoke_task
from tasks.policy import FLOW_TIMEOUT_S, run_namer
from tasks.ticking import open_campaign_task


class RevokeInput(BaseModel):
    target: str = Field(title="证书编号或单位编码", min_length=1)
    reason: str = Field(title="撤销理由", min_length=1, max_length=500)


@flow(
    name="pingan-award",
    description="命名挂牌：为签批通过的达标单位编号、生成证书与公示名单并通知；可撤销命名。",
    flow_run_name=run_namer("命名挂牌"),
    timeout_seconds=FLOW_TIMEOUT_S,
)
def award(
    campaign: CampaignParam,
    as_of: AsOfParam = None,
    grant: Annotated[bool, zh("对已签批的达标单位命名", "关闭时只处理撤销与证书")] = True,
    notify: Annotated[bool, zh("通知获评单位及牵头单位", "关闭时只编号不发通知")] = True,
    regenerate: Annotated[bool, zh("重新生成全部证书", "否则只生成本次新命名单位的证书")] = False,
    revocations: Annotated[
        list[RevokeInput] | None,
        zh("撤销命名", "每项填写证书编号或单位编码，以及撤销理由"),
    ] = None,
    actor: ActorParam = "prefect-ui",
) -> AwardOutput:
    handle, day = open_campaign_task(campaign, as_of)
    revoked = [revoke_task(handle, r.target, r.reason, actor) for r in revocations or []]
    new_ids: list[int] = []
    run = None
    if grant:
        run = grant_task(handle, day, actor, notify)
        new_ids = run.new_award_ids
    documents = documents_task(handle, new_ids, regenerate)
    publish_awards_task(handle, len(new_ids), documents)
    return AwardOutput(
        as_of=day,
        issued_on=run.issued_on if run else None,
        awarded=len(new_ids),
        by_domain=run.by_domain if run else {},
        waiting=run.waiting if run else 0,
        excluded=run.excluded if run else 0,
        notices=run.notices if run else 0,
        revoked=revoked,
        documents=documents,
    )

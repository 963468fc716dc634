"""考核验收: optional on-site scoring in the UI → results → the coordinator's sign-off → awards.

Pauses (not suspends): the process waits, so the flow needs no deployment and the steps
before the pause need not be idempotent. A pause that times out fails the run; the sign-off
can then be given with `pingan acceptance signoff` and the award flow run on its own.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from prefect import flow, get_run_logger, pause_flow_run
from prefect.input import RunInput
from pydantic import BaseModel, Field

from flows.award import award
from flows.outputs import AcceptanceOutput, SignOffOutput
from pingan.adapters.render.acceptance import signoff_prompt
from pingan.core.onsite import onsite_model
from pingan.core.problems import InputError, Problem
from tasks.awarding import (
    onsite_cells_task,
    publish_results_task,
    results_task,
    signoff_task,
    store_onsite_task,
)
from tasks.ticking import open_campaign_task

SIGNOFF_ATTEMPTS = 3
# How often a paused run asks the server whether it was resumed; tests shorten it.
POLL_S = 10


class Decision(StrEnum):
    approve = "同意命名"
    reject = "退回复查"


class Exclusion(BaseModel):
    cell: str = Field(title="单位编码", min_length=1)
    reason: str = Field(title="暂缓命名理由", min_length=1)


class SignOffInput(RunInput):
    """The coordinator's form in the Prefect UI."""

    approver: str = Field(title="签批人姓名", min_length=1, max_length=100)
    decision: Decision = Field(title="签批意见", description="同意：对达标单位命名挂牌；退回：复查")
    comment: str = Field("", title="批示", max_length=1000)
    exclusions: list[Exclusion] = Field(default_factory=list, title="暂缓命名的单位")


class AcceptanceInput(BaseModel):
    campaign: str = Field(title="创建活动编码", min_length=1)
    as_of: date | None = Field(None, title="统计日期", description="默认为活动时区的今天")
    onsite_cells: list[str] = Field(
        default_factory=list,
        title="现场评分单位编码",
        description="填写少量单位编码（至多 20 个），流程将暂停并生成现场评分表单",
    )
    wait_for_signoff: bool = Field(True, title="等待综治委签批")
    timeout_hours: float = Field(72, gt=0, le=720, title="每次等待时限（小时）")
    award_after_signoff: bool = Field(True, title="签批同意后立即命名并生成证书")
    actor: str = Field("prefect-ui", title="操作人")


@flow(
    name="pingan-acceptance",
    description="考核验收：现场评分（可选）、统计各领域达标率、等待综治委签批，签批后命名挂牌。",
)
def acceptance(params: AcceptanceInput) -> AcceptanceOutput:
    log = get_run_logger()
    handle, as_of = open_campaign_task(params.campaign, params.as_of)
    timeout = int(params.timeout_hours * 3600)
    onsite = None
    if params.onsite_cells:
        cells = onsite_cells_task(handle, params.onsite_cells)
        form = onsite_model(handle.campaign, cells, RunInput)
        values = pause_flow_run(
            wait_for_input=form, timeout=timeout, poll_interval=POLL_S, key="onsite-scores"
        )
        onsite = store_onsite_task(handle, cells, values.model_dump(), as_of, params.actor)
    res = results_task(handle, as_of)
    publish_results_task(handle, res)
    out = AcceptanceOutput(as_of=as_of, assessed=res.assessed, passed=res.passed, onsite=onsite)
    if not params.wait_for_signoff:
        return out
    log.info(signoff_prompt(res))
    signoff = None
    problems: list[Problem] = []
    for attempt in range(1, SIGNOFF_ATTEMPTS + 1):
        given = pause_flow_run(
            wait_for_input=SignOffInput,
            timeout=timeout,
            poll_interval=POLL_S,
            key=f"signoff-{attempt}",
        )
        try:
            signoff = signoff_task(
                handle,
                given.approver,
                given.decision == Decision.approve,
                given.comment,
                {e.cell: e.reason for e in given.exclusions},
                params.actor,
            )
            break
        except InputError as exc:
            # A mistyped exclusion should not cost the whole acceptance run: ask again.
            problems = exc.problems
            for p in problems:
                log.error(str(p))
    if signoff is None:
        raise InputError(problems)
    out.signoff = SignOffOutput(approved=signoff.approved, approver=signoff.approver)
    if signoff.approved and params.award_after_signoff:
        out.award = award(campaign=params.campaign, as_of=as_of, actor=params.actor)
    return out

"""考核验收: optional on-site scoring in the UI → results → the coordinator's sign-off → awards.

Pauses (not suspends): the process waits, so the flow needs no deployment and the steps
before the pause need not be idempotent. While it waits, each approver named in the campaign
has a personal sign-off link (sent through the outbox; the portal's page resumes this run
with the same input as the form). A form answered wrongly (a mistyped exclusion, a score out
of range) is asked again with the problems and the attempts left above it. A wait that runs
out ends the run as "签批超时"; the sign-off can then be given with `pingan acceptance signoff`
and the award flow run on its own.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any

from prefect import flow, get_run_logger, pause_flow_run, runtime
from prefect.client.schemas.objects import State
from prefect.exceptions import FlowPauseTimeout
from prefect.input import RunInput
from prefect.states import Failed
from pydantic import BaseModel, Field

from flows.award import award
from flows.outputs import AcceptanceOutput, SignOffOutput
from flows.params import zh
from pingan.adapters.render.acceptance import form_description, local_time, signoff_prompt
from pingan.core.acceptance import AcceptanceResults, SignOffRequest
from pingan.core.onsite import onsite_model
from pingan.services.signoff import PauseRef
from pingan.services.tick import CampaignHandle
from tasks.awarding import (
    onsite_cells_task,
    publish_results_task,
    results_task,
    signoff_task,
    store_onsite_task,
)
from tasks.events import emit_signoff_awaiting, emit_signoff_given
from tasks.signoff import close_signoff_links_task, issue_signoff_links_task, wait_ended_task
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
    """The coordinator's form in the Prefect UI; the phone page sends the same fields."""

    approver: str = Field(title="签批人姓名", min_length=1, max_length=100)
    decision: Decision = Field(title="签批意见", description="同意：对达标单位命名挂牌；退回：复查")
    comment: str = Field("", title="批示", max_length=1000)
    exclusions: list[Exclusion] = Field(default_factory=list, title="暂缓命名的单位")

    def request(self) -> SignOffRequest:
        return SignOffRequest(
            self.approver,
            self.decision == Decision.approve,
            self.comment,
            {e.cell: e.reason for e in self.exclusions},
        )


class Waited(Exception):
    """No usable answer came: the run ends in a named state with a Chinese message, not
    with a traceback."""

    def __init__(self, state: str, message: str) -> None:
        super().__init__(message)
        self.state = state
        self.message = message


def _run_name() -> str:
    p = runtime.flow_run.parameters
    return f"考核验收 {p.get('campaign', '')} {p.get('as_of') or '今日'}"


def _ask(form: Any, timeout_s: int, key: str) -> Any:
    try:
        return pause_flow_run(wait_for_input=form, timeout=timeout_s, poll_interval=POLL_S, key=key)
    except FlowPauseTimeout as exc:
        raise Waited("等待超时", "在等待时限内无人提交") from exc


def _answered(
    ask: Callable[[str, Sequence[str], int], Any], settle: Callable[[Any], Any], what: str
) -> Any:
    """Ask up to SIGNOFF_ATTEMPTS times; ``settle`` returns a result or a list of problems,
    shown above the next form with the attempts left."""
    problems: Sequence[str] = ()
    for attempt in range(1, SIGNOFF_ATTEMPTS + 1):
        outcome = settle(ask(f"{what}-{attempt}", problems, SIGNOFF_ATTEMPTS - attempt + 1))
        if not isinstance(outcome, list):
            return outcome
        problems = [str(p) for p in outcome]
        for p in problems:
            get_run_logger().warning("%s", p)
    raise Waited("提交未通过", f"连续 {SIGNOFF_ATTEMPTS} 次提交均未通过校验（见日志）")


def _onsite(handle: CampaignHandle, codes: list[str], as_of: date, timeout: int, actor: str) -> Any:
    cells = onsite_cells_task(handle, codes)
    base = onsite_model(handle.campaign, cells, RunInput)

    def ask(key: str, problems: Sequence[str], left: int) -> Any:
        text = "\n".join(["### ⚠️ 请修改后重新提交", *(f"- {p}" for p in problems)])
        form = base.with_initial_data(
            description=f"{text}\n\n**还可提交 {left} 次。**" if problems else None
        )
        return _ask(form, timeout, key)

    def settle(values: Any) -> Any:
        return store_onsite_task(handle, cells, values.model_dump(), as_of, actor)

    return _answered(ask, settle, "onsite-scores")


def _signoff(
    handle: CampaignHandle, res: AcceptanceResults, timeout: int, actor: str, today: date
) -> Any:
    deadline = datetime.now().astimezone() + timedelta(seconds=timeout)
    run_id = str(runtime.flow_run.id)
    issue_signoff_links_task(handle, PauseRef(run_id, res.as_of, deadline), res, today)
    emit_signoff_awaiting(handle.campaign.code, res.as_of, res.assessed, res.passed)
    local = local_time(deadline, handle.campaign.timezone)

    def ask(key: str, problems: Sequence[str], left: int) -> Any:
        text = form_description(res, local, problems, left if problems else None)
        remaining = int((deadline - datetime.now().astimezone()).total_seconds())
        return _ask(SignOffInput.with_initial_data(description=text), max(remaining, 1), key)

    def settle(given: SignOffInput) -> Any:
        outcome = signoff_task(handle, given.request(), actor)
        if outcome.signoff is not None:
            return outcome.signoff
        return [p.message for p in outcome.problems]

    try:
        s = _answered(ask, settle, "signoff")
    except Waited:
        close_signoff_links_task(handle, run_id, "timeout")
        raise
    close_signoff_links_task(handle, run_id, "answered")
    emit_signoff_given(handle.campaign.code, bool(s.approved))
    return s


@flow(
    name="pingan-acceptance",
    flow_run_name=_run_name,
    description="考核验收：现场评分（可选）、统计各领域达标率、等待综治委签批（手机或本页表单），"
    "签批后命名挂牌。",
)
def acceptance(
    campaign: Annotated[
        str,
        zh("创建活动编码", "活动配置中的 code，如 xucheng-2017；从部署运行时已填好", min_length=1),
    ],
    as_of: Annotated[date | None, zh("统计日期", "默认为活动时区的今天")] = None,
    onsite_cells: Annotated[
        list[str] | None,
        zh("现场评分单位编码", "填写少量单位编码（至多 20 个），流程将暂停并生成现场评分表单"),
    ] = None,
    wait_for_signoff: Annotated[
        bool, zh("等待综治委签批", "签批人在手机上签批，或在本流程运行页面的表单中签批")
    ] = True,
    timeout_hours: Annotated[
        float,
        zh("等待时限（小时）", "每次等待签批或现场评分的时限，超时即结束本流程", gt=0, le=720),
    ] = 72,
    award_after_signoff: Annotated[
        bool, zh("签批同意后立即命名", "签批同意后随即为达标单位编号命名、生成证书和公示名单")
    ] = True,
    actor: Annotated[str, zh("操作人", "记入审计日志")] = "prefect-ui",
) -> AcceptanceOutput | State[Any]:
    log = get_run_logger()
    handle, day = open_campaign_task(campaign, as_of)
    timeout = int(timeout_hours * 3600)
    try:
        onsite = _onsite(handle, onsite_cells, day, timeout, actor) if onsite_cells else None
        res = results_task(handle, day)
        publish_results_task(handle, res)
        out = AcceptanceOutput(as_of=day, assessed=res.assessed, passed=res.passed, onsite=onsite)
        if not wait_for_signoff:
            return out
        log.info(signoff_prompt(res))
        s = _signoff(handle, res, timeout, actor, day)
    except Waited as exc:
        message = (
            f"{exc.message}：本次验收流程结束，未命名任何单位。"
            "可用 pingan acceptance signoff 补签后单独运行命名挂牌流程，或重新运行本流程。"
        )
        wait_ended_task(handle, exc.state, message)
        return Failed(name=exc.state, message=message)
    out.signoff = SignOffOutput(approved=s.approved, approver=s.approver)
    if s.approved and award_after_signoff:
        out.award = award(campaign=campaign, as_of=day, actor=actor)
    return out

"""The approver's phone page: the acceptance results, and the sign-off that resumes the
waiting Prefect run with the same input as the Prefect UI form.

Routes: ``GET /s/<token>`` shows the results and the form; ``POST /s/<token>`` (fields
``decision`` 同意命名/退回复查, ``comment``, ``holds``: one "编码:理由" a line) checks the
answer, takes the link (single use, one UPDATE), resumes the run and says what happened.
A link opens nothing once used, once its run has its answer, or once the wait ran out.
Every sign-off and every refusal is audited with the link's fingerprint, never the link.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, Response
from prefect.exceptions import FlowPauseTimeout, NotPausedError
from prefect.flow_runs import resume_flow_run
from starlette.concurrency import run_in_threadpool

from pingan.adapters.render.acceptance import SIGNING_MEANS, cn_datetime, local_time
from pingan.core.acceptance import SignOffRequest, parse_exclusions, shortfall
from pingan.core.links import TokenInvalid, fingerprint
from pingan.core.problems import InputError
from pingan.core.signoff import SIGNOFF_PATH, verify_signoff
from pingan.portal.admission import Admission
from pingan.portal.pages import Pages
from pingan.portal.refusals import BAD_TOKEN, Refusal
from pingan.services.signoff import (
    LinkView,
    audit_phone_signoff,
    give_back_link,
    request_problems,
    take_link,
    view_link,
)

APPROVE, REJECT = "同意命名", "退回复查"
MAX_FIELD = 4000
CLOSED = Refusal(
    410,
    "signoff_closed",
    "签批链接已失效",
    "此签批链接已使用，或本次验收已有签批结果，或等待时限已过。",
    "如需再次签批，请联系活动办公室重新发起考核验收流程。",
)
UNREACHABLE = Refusal(
    503,
    "prefect_unreachable",
    "暂时无法提交",
    "验收流程服务暂时无法连接，本次签批未提交，链接仍可使用。",
    "请稍后再试。",
    retry_after=30,
)
NOT_WAITING = Refusal(
    409,
    "run_not_waiting",
    "验收流程已不在等待签批",
    "本次验收流程已结束等待（已由他人签批、已超时或已被取消），您的签批未生效。",
    "如有疑问，请联系活动办公室。",
)
_REASONS = {"answered": "本次验收已有签批结果", "timeout": "等待签批已超时"}


def closed(link: LinkView) -> Refusal:
    """Why a link no longer opens the form, in the words of the page."""
    if link.used_at is not None:
        why = f"已于 {cn_datetime(link.used_at)} 使用过"
    else:
        why = _REASONS.get(link.closed_reason or "", f"已于 {link.deadline_text} 过期")
    return Refusal(
        410, "signoff_closed", "签批链接已失效", f"此签批链接已失效：{why}。", CLOSED.hint
    )


@dataclass(frozen=True)
class DomainRow:
    title: str
    assessed: int
    passed: int
    failed: int
    vetoed: int
    rate: str
    target: str
    short: int


def domain_rows(link: LinkView) -> list[DomainRow]:
    res = link.results
    rows = []
    for d in res.domains:
        target = res.target_of(d)
        rate = d.pass_rate()
        rows.append(
            DomainRow(
                d.title,
                d.assessed,
                d.passed,
                d.failed,
                d.vetoed,
                "—" if rate is None else f"{rate:.1%}",
                f"{target:.0%}",
                shortfall(d, target),
            )
        )
    return rows


class SignoffPages:
    def __init__(self, admission: Admission, pages: Pages) -> None:
        self.admission = admission
        self.pages = pages

    def refuse(
        self, request: Request, refusal: Refusal, fp: str, campaign: str | None = None, **extra: Any
    ) -> HTMLResponse:
        """Audited, with the campaign's name and office on the page when the link names one."""
        info = self.admission.campaign(campaign) if campaign else None
        extra = {"page": "signoff", **extra}
        return self.admission.refuse(request, refusal, fp=fp, info=info, extra=extra)

    def admit(self, request: Request, token: str) -> tuple[LinkView, str] | Response:
        fp = fingerprint(token)
        limited = self.admission.limited(request, fp)
        if limited is not None:
            return limited
        try:
            claims = verify_signoff(token, self.admission.secret)
        except TokenInvalid:
            return self.refuse(request, BAD_TOKEN, fp)
        link = view_link(self.admission.engine, claims, self.admission.config.now())
        if link is None:
            return self.refuse(request, BAD_TOKEN, fp)
        if not link.open:
            why = link.closed_reason or "used_or_expired"
            return self.refuse(request, closed(link), fp, claims.campaign, why=why)
        return link, fp

    def show(
        self, request: Request, link: LinkView, status: int = 200, **form: Any
    ) -> HTMLResponse:
        res = link.results
        c = link.handle.campaign
        office = c.coordinator.office
        return self.pages.page(
            "signoff.html",
            request,
            status,
            title="考核验收签批",
            heading=c.short_name or c.name,
            link=link,
            res=res,
            rows=domain_rows(link),
            failed=res.failed[:200],
            more_failed=max(0, len(res.failed) - 200),
            titles={d.key: d.title for d in res.domains},
            grouping=res.grouping,
            means=SIGNING_MEANS,
            approve=APPROVE,
            reject=REJECT,
            office_name=office.name if office else c.coordinator.name,
            office_phone=office.phone if office else None,
            **form,
        )

    def submit(self, request: Request, link: LinkView, fp: str, form: dict[str, str]) -> Response:
        decision = form.get("decision", "")
        comment = form.get("comment", "").strip()
        holds = form.get("holds", "")
        errors: list[str] = []
        exclusions: dict[str, str] = {}
        if decision not in (APPROVE, REJECT):
            errors.append("请选择签批意见：同意命名或退回复查")
        try:
            lines = [x for x in holds.splitlines() if x.strip()]
            exclusions = parse_exclusions(lines)
        except InputError as exc:
            errors += [f"暂缓命名第 {p.where} 行：{p.message}" for p in exc.problems]
        request_ = SignOffRequest(link.approver, decision == APPROVE, comment, exclusions)
        if not errors:
            problems = request_problems(self.admission.engine, link.handle, request_)
            errors = [p.message for p in problems]
        if errors:
            return self.show(
                request, link, 422, errors=errors, decision=decision, comment=comment, holds=holds
            )
        return self.resume(request, link, fp, request_, decision)

    def resume(
        self, request: Request, link: LinkView, fp: str, req: SignOffRequest, decision: str
    ) -> Response:
        engine = self.admission.engine
        code = link.handle.campaign.code
        if not take_link(engine, link.id, self.admission.config.now()):
            return self.refuse(request, CLOSED, fp, code, why="taken")
        run_input = {
            "approver": req.approver,
            "decision": decision,
            "comment": req.comment or "",
            "exclusions": [{"cell": k, "reason": v} for k, v in req.exclusions.items()],
        }
        try:
            resume_flow_run(UUID(link.flow_run_id), run_input=run_input)
        except (NotPausedError, FlowPauseTimeout):
            audit_phone_signoff(engine, link, fp, req, "run_not_waiting")
            return self.refuse(request, NOT_WAITING, fp, code)
        except Exception as exc:  # the Prefect API is down or refused: the link stays usable
            give_back_link(engine, link.id)
            why = f"unreachable:{type(exc).__name__}: {exc}"[:300]
            audit_phone_signoff(engine, link, fp, req, why)
            return self.refuse(request, UNREACHABLE, fp, code)
        audit_phone_signoff(engine, link, fp, req, "resumed")
        c = link.handle.campaign
        return self.pages.page(
            "signoff_done.html",
            request,
            title="签批已提交",
            heading=c.short_name or c.name,
            approved=req.approved,
            approver=req.approver,
            comment=req.comment,
            exclusions=req.exclusions,
            at=cn_datetime(local_time(self.admission.config.now(), c.timezone)),
        )


def add_signoff_routes(app: FastAPI, admission: Admission, pages: Pages) -> None:
    """GET and POST /s/<token> (see the module's docstring)."""
    signoff = SignoffPages(admission, pages)
    path = SIGNOFF_PATH + "{token}"

    @app.get(path, response_class=HTMLResponse)
    def page(request: Request, token: str) -> Response:
        admitted = signoff.admit(request, token)
        if not isinstance(admitted, tuple):
            return admitted
        return signoff.show(request, admitted[0])

    @app.post(path, response_class=HTMLResponse)
    async def sign(request: Request, token: str) -> Response:
        admitted = await run_in_threadpool(signoff.admit, request, token)
        if not isinstance(admitted, tuple):
            return admitted
        async with request.form(max_files=0, max_fields=8) as data:
            form = {k: str(v)[:MAX_FIELD] for k, v in data.items() if isinstance(v, str)}
        return await run_in_threadpool(signoff.submit, request, admitted[0], admitted[1], form)

"""A leader's live view: ``GET /l/<token>`` — a signed, read-only mobile page for the
coordinator (every domain) or a domain's lead unit (its domain), minted by
`pingan leader-link` (pingan.core.leader). From it, the latest report
(``/l/<token>/report.html|xlsx``) and the scope's certificates (``/l/<token>/c/<id>.pdf``)
download through the same signed link: no URL names a file, and the server finds each file
from the campaign and the award alone.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse, Response
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from pingan.adapters.db.awarding import award_listing
from pingan.adapters.db.reporting.leader import Scope
from pingan.adapters.render.messages import cn_date
from pingan.core.leader import LeaderClaims, LeaderTokenExpired, verify_leader
from pingan.core.links import TokenInvalid, fingerprint
from pingan.core.verification import MAX_AWARD_ID
from pingan.portal.admission import Admission
from pingan.portal.leader_charts import trend_svg
from pingan.portal.leader_view import (
    SEEN_LABELS,
    as_of_day,
    certificates_dir,
    latest_report,
    leader_view,
    reports_dir,
)
from pingan.portal.pages import Pages
from pingan.portal.refusals import BAD_TOKEN, TOKEN_EXPIRED, UNIT_GONE, Refusal, refusal_page
from pingan.portal.visits import CampaignInfo
from pingan.services.documents import certificate_path

NOT_READY = Refusal(404, "not_ready", "文件尚未生成", "该文件尚未生成，请稍后再试。", back=True)
MEDIA = {
    "html": "text/html; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


class Leaders:
    def __init__(self, engine: Engine, admission: Admission, pages: Pages) -> None:
        self.engine = engine
        self.admission = admission
        self.pages = pages
        self.output_root = admission.config.output_root
        # Status items carry ISO dates (JSON-ready); a person reads them in Chinese.
        pages.templates.filters["iso_cn"] = lambda text: cn_date(date.fromisoformat(text))

    def admit(self, request: Request, token: str) -> tuple[LeaderClaims, CampaignInfo] | Response:
        """Rate limits, then the signature, then the campaign and domain it names."""
        fp = fingerprint(token)
        limited = self.admission.limited(request, fp)
        if limited is not None:
            return limited
        try:
            claims = verify_leader(token, self.admission.secret, self.admission.config.now())
        except (TokenInvalid, OverflowError, ValueError, OSError):
            return self.admission.refuse(request, BAD_TOKEN, fp=fp, extra={"link": "leader"})
        except LeaderTokenExpired as exc:
            info = self.admission.campaign(exc.claims.campaign)
            extra = {"link": "leader"}
            return self.admission.refuse(request, TOKEN_EXPIRED, fp=fp, info=info, extra=extra)
        info = self.admission.campaign(claims.campaign)
        known = info is not None and (
            claims.domain is None or claims.domain in {d.key for d in info.campaign.domains}
        )
        if info is None or not known:
            extra = {"link": "leader", "scope": claims.scope}
            return self.admission.refuse(request, UNIT_GONE, fp=fp, info=info, extra=extra)
        return claims, info

    def page(self, request: Request, claims: LeaderClaims, info: CampaignInfo) -> HTMLResponse:
        now = info.local(self.admission.config.now())
        campaign = info.campaign
        scope = Scope(campaign, info.id, as_of_day(now.date(), campaign.ends_on), claims.domain)
        view = leader_view(self.engine, scope, self.output_root)
        who = (
            campaign.wording.coordinator_formal
            if claims.domain is None
            else campaign.domain(claims.domain).name
        )
        return self.pages.page(
            "leader.html",
            request,
            token=request.path_params["token"],
            title=f"{info.short} · 创建进展",
            heading=info.short,
            who=who,
            view=view,
            now=now,
            chart=trend_svg(view.trend, view.targets),
            seen=SEEN_LABELS,
            grouping=campaign.wording.grouping,
            expires_at=info.local(claims.expires_at),
            office_name=info.office_name,
            office_phone=info.office_phone,
        )

    def report(self, request: Request, info: CampaignInfo, suffix: str) -> Response:
        path = latest_report(reports_dir(self.output_root, info.code)).get(suffix)
        if path is None:
            return self.pages_refusal(request, info)
        return _download(path, MEDIA[suffix], f"{info.code}-{path.name}", inline=suffix == "html")

    def certificate(
        self, request: Request, claims: LeaderClaims, info: CampaignInfo, award_id: int
    ) -> Response:
        if not 0 < award_id <= MAX_AWARD_ID:
            return self.pages_refusal(request, info)
        with Session(self.engine) as session:
            found = award_listing(session, info.campaign, info.id, [award_id])
        root = certificates_dir(self.output_root, info.code)
        a = found[0] if found else None
        if a is None or a.revoked_at is not None or claims.domain not in (None, a.domain):
            return self.pages_refusal(request, info)
        path = certificate_path(root, a) if root is not None else None
        if path is None or not path.is_file():
            return self.pages_refusal(request, info)
        return _download(path, "application/pdf", f"{a.seq:04d}-{a.cell_code}.pdf", inline=True)

    def pages_refusal(self, request: Request, info: CampaignInfo) -> Response:
        return refusal_page(self.pages, request, NOT_READY, info)


def _download(path: Path, media: str, name: str, *, inline: bool) -> Response:
    disposition = "inline" if inline else "attachment"
    return FileResponse(
        path,
        media_type=media,
        filename=name,
        content_disposition_type=disposition,
        headers={"Cache-Control": "private, no-store"},
    )


def add_leader_routes(app: FastAPI, engine: Engine, admission: Admission, pages: Pages) -> None:
    leaders = Leaders(engine, admission, pages)

    @app.get("/l/{token}", response_class=HTMLResponse)
    def leader_page(request: Request, token: str) -> Response:
        admitted = leaders.admit(request, token)
        if isinstance(admitted, Response):
            return admitted
        return leaders.page(request, *admitted)

    @app.get("/l/{token}/report.{suffix}")
    def leader_report(request: Request, token: str, suffix: str) -> Response:
        admitted = leaders.admit(request, token)
        if isinstance(admitted, Response):
            return admitted
        if suffix not in MEDIA:
            return leaders.pages_refusal(request, admitted[1])
        return leaders.report(request, admitted[1], suffix)

    @app.get("/l/{token}/c/{award_id}.pdf")
    def leader_certificate(request: Request, token: str, award_id: int) -> Response:
        admitted = leaders.admit(request, token)
        if isinstance(admitted, Response):
            return admitted
        return leaders.certificate(request, *admitted, award_id)

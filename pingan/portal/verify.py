"""The public certificate verification page: ``GET /v/<reference>`` (the QR code and short
URL printed on each certificate) and ``GET /v`` (a form: number, code and the unit's name).

It shows only what the certificate itself says — number, unit, title, date, issuers — or
says plainly that it is revoked, unknown, or made out to another name. It is rate-limited
per address (PortalConfig.verify_rate) and never names a unit for a number and code that
do not match.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from pingan.adapters.db.awarding import AwardHit, award_by_id, award_listing, awards_by_number
from pingan.core.awards import AwardListing, codes_match, issuers
from pingan.core.links import fingerprint
from pingan.core.verification import names_match, parse_ref
from pingan.portal.admission import Admission, client_address
from pingan.portal.pages import Pages
from pingan.portal.ratelimit import RateLimiter
from pingan.portal.refusals import rate_limited

MAX_FIELD = 200  # characters of a typed number, code or name that are read


@dataclass(frozen=True)
class Shown:
    """What the page says: a state (valid, revoked, unknown, mismatch) and, for a genuine
    certificate, what is printed on it."""

    state: str
    award: AwardListing | None = None
    issuers: tuple[str, ...] = ()
    revoked_on: date | None = None
    heading: str = "证书核验"


class Verifier:
    def __init__(self, engine: Engine, admission: Admission, pages: Pages) -> None:
        self.engine = engine
        self.admission = admission
        self.pages = pages
        self.by_address = RateLimiter(admission.config.verify_rate)

    def limited(self, request: Request) -> Response | None:
        decision = self.by_address.hit(client_address(request), self.admission.config.monotonic())
        if decision.allowed:
            return None
        extra = {"limit": "verify", "refused_since_audit": decision.refused_since_audit}
        fp = fingerprint(request.url.path)
        refusal = rate_limited(decision.retry_after_s)
        return self.admission.refuse(request, refusal, fp=fp, extra=extra, audit=decision.audit)

    def _shown(self, hit: AwardHit, code: str, name: str | None) -> Shown | None:
        """The certificate behind hit when code (and name, if given) match; else None, or
        a mismatch when only the name differs."""
        info = self.admission.campaign(hit.campaign_code)
        if info is None:
            return None
        with Session(self.engine) as session:
            found = award_listing(session, info.campaign, info.id, [hit.award_id])
        if not found or not codes_match(code, found[0].verification_code):
            return None
        a = found[0]
        if name is not None and not names_match(name, a.cell_name):
            return Shown("mismatch")
        revoked = info.local(a.revoked_at).date() if a.revoked_at is not None else None
        return Shown(
            "revoked" if revoked else "valid",
            a,
            issuers(info.campaign, a.domain),
            revoked,
            info.short,
        )

    def by_reference(self, text: str) -> Shown:
        ref = parse_ref(text)
        if ref is None:
            return Shown("unknown")
        with self.engine.connect() as conn:
            hit = award_by_id(conn, ref.award_id)
        shown = None if hit is None else self._shown(hit, ref.code, None)
        return shown or Shown("unknown")

    def by_form(self, number: str, code: str, name: str) -> Shown:
        with self.engine.connect() as conn:
            hits = awards_by_number(conn, number)
        for hit in hits:
            shown = self._shown(hit, code, name)
            if shown is not None:
                return shown
        return Shown("unknown")

    def page(self, request: Request, shown: Shown, form: dict[str, str]) -> HTMLResponse:
        return self.pages.page(
            "verify.html",
            request,
            title="证书核验",
            heading=shown.heading,
            shown=shown,
            form=form,
        )


def _field(request: Request, key: str) -> str:
    return request.query_params.get(key, "")[:MAX_FIELD].strip()


def add_verify_routes(app: FastAPI, engine: Engine, admission: Admission, pages: Pages) -> None:
    verifier = Verifier(engine, admission, pages)

    @app.get("/v", response_class=HTMLResponse)
    def verify_form(request: Request) -> Response:
        limited = verifier.limited(request)
        if limited is not None:
            return limited
        form = {k: _field(request, k) for k in ("number", "code", "name")}
        if not all(form.values()):
            state = "incomplete" if any(form.values()) else "form"
            return verifier.page(request, Shown(state), form)
        # As pingan verify (core.verification): a wrong code is "unknown", a wrong name
        # "mismatch", and neither names the unit the number belongs to.
        shown = verifier.by_form(form["number"], form["code"], form["name"])
        return verifier.page(request, shown, form)

    @app.get("/v/{reference}", response_class=HTMLResponse)
    def verify_reference(request: Request, reference: str) -> Response:
        limited = verifier.limited(request)
        if limited is not None:
            return limited
        shown = verifier.by_reference(reference[:MAX_FIELD])
        return verifier.page(request, shown, {"number": "", "code": "", "name": ""})

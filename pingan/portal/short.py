"""Short links from SMS: ``GET /k/<code>`` (pingan.core.short_links).

Rate-limited like ``/u/`` (per address and per code, pingan.portal.admission), the code's
fingerprint is looked up; an unknown, expired or revoked code gets the same plain refusal
page as a personal link in that state (audited with the fingerprint, never the code), any
other is answered with a 303 to the unit's personal link, signed again from the stored
claims, so the unit's own page (and its read receipt) follows. Nothing else is shown.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response

from pingan.adapters.db.short_links import find_short_link
from pingan.core.links import LinkClaims, fingerprint, link_url, sign
from pingan.core.short_links import code_fingerprint, parse_code
from pingan.portal.admission import Admission
from pingan.portal.refusals import BAD_TOKEN, TOKEN_EXPIRED, TOKEN_REVOKED


class ShortLinks:
    def __init__(self, admission: Admission) -> None:
        self.admission = admission

    def open(self, request: Request, text: str) -> Response:
        code = parse_code(text)
        # Keyed by the code as read, so typing it in capitals is no way round the limit.
        fp = fingerprint(code or text)
        limited = self.admission.limited(request, fp)
        if limited is not None:
            return limited
        extra: dict[str, object] = {"page": "short"}
        with self.admission.engine.connect() as conn:
            hit = None if code is None else find_short_link(conn, code_fingerprint(code))
        if hit is None:
            return self.admission.refuse(request, BAD_TOKEN, fp=fp, extra=extra)
        claims = LinkClaims(hit.campaign, hit.unit, hit.version, hit.expires_at)
        info = self.admission.campaign(hit.campaign)
        # In the order /u/ checks a token: expiry first, then the unit's current version.
        if self.admission.config.now() >= hit.expires_at:
            refusal = TOKEN_EXPIRED
        elif hit.version != hit.current_version:
            extra = {**extra, "version": hit.version}
            refusal = TOKEN_REVOKED
        else:
            # Relative: the personal page is on this same portal, whatever its address.
            location = link_url("", sign(claims, self.admission.secret))
            return RedirectResponse(location, status_code=303)
        return self.admission.refuse(request, refusal, fp=fp, claims=claims, info=info, extra=extra)


def add_short_routes(app: FastAPI, admission: Admission) -> None:
    short = ShortLinks(admission)

    @app.get("/k/{code}")
    def short_link(request: Request, code: str) -> Response:
        return short.open(request, code)

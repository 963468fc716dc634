"""The steps every /u/ request goes through: the rate limits, then the token, then the unit
behind it. Every refusal is audited here, with the token's fingerprint, never the token."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import Engine, insert

from pingan.adapters.db.audit import AuditEventRow
from pingan.adapters.db.base import utcnow
from pingan.core.links import LinkClaims, TokenExpired, TokenInvalid, fingerprint, verify
from pingan.portal.config import PortalConfig, checked_secret
from pingan.portal.pages import Pages
from pingan.portal.ratelimit import RateLimiter
from pingan.portal.refusals import (
    BAD_TOKEN,
    TOKEN_EXPIRED,
    TOKEN_REVOKED,
    UNIT_GONE,
    UNIT_WITHDRAWN,
    Refusal,
    rate_limited,
    refusal_page,
)
from pingan.portal.visits import CampaignInfo, Visit, campaign_info, find_unit

ACTOR = "portal"
CAMPAIGN_CACHE_S = 60.0


def client_address(request: Request) -> str:
    """The peer address; behind a configured proxy (PortalConfig.trusted_proxies) the
    outermost layer has already put the forwarded one here."""
    return request.client.host if request.client else "unknown"


class Admission:
    def __init__(self, engine: Engine, config: PortalConfig, pages: Pages) -> None:
        self.engine = engine
        self.config = config
        self.secret = checked_secret(config.secret)
        self.pages = pages
        self.by_token = RateLimiter(config.token_rate)
        self.by_address = RateLimiter(config.address_rate)
        self._campaigns: dict[str, tuple[float, CampaignInfo]] = {}

    def admit(self, request: Request, token: str) -> Visit | Response:
        """Rate limits, then the token: the verified visit or the refusal page."""
        fp = fingerprint(token)
        limited = self.limited(request, fp)
        if limited is not None:
            return limited
        return self.visit(request, token, fp)

    def limited(self, request: Request, fp: str) -> Response | None:
        now = self.config.monotonic()
        address = client_address(request)
        for limiter, key, scope in (
            (self.by_address, address, "address"),
            (self.by_token, fp, "token"),
        ):
            decision = limiter.hit(key, now)
            if not decision.allowed:
                return self.refuse(
                    request,
                    rate_limited(decision.retry_after_s),
                    fp=fp,
                    extra={"limit": scope, "refused_since_audit": decision.refused_since_audit},
                    audit=decision.audit,
                )
        return None

    def visit(self, request: Request, token: str, fp: str) -> Visit | Response:
        """The verified unit behind a token, or the refusal page (audited)."""
        try:
            claims = verify(token, self.secret, self.config.now())
        except (TokenInvalid, OverflowError, ValueError, OSError):
            # A genuine signature over an expiry no clock can hold is still no link.
            return self.refuse(request, BAD_TOKEN, fp=fp)
        except TokenExpired as exc:
            info = self.campaign(exc.claims.campaign)
            return self.refuse(request, TOKEN_EXPIRED, fp=fp, claims=exc.claims, info=info)
        info = self.campaign(claims.campaign)
        unit = None
        if info is not None:
            with self.engine.connect() as conn:
                unit = find_unit(conn, info.id, claims.unit)
        if info is None or unit is None:
            return self.refuse(request, UNIT_GONE, fp=fp, claims=claims, info=info)
        if claims.version != unit.version:
            extra = {"version": claims.version}
            return self.refuse(request, TOKEN_REVOKED, fp=fp, claims=claims, info=info, extra=extra)
        if unit.status != "active":
            return self.refuse(request, UNIT_WITHDRAWN, fp=fp, claims=claims, info=info)
        return Visit(fp, client_address(request), claims, info, unit)

    def campaign(self, code: str) -> CampaignInfo | None:
        cached = self._campaigns.get(code)
        now = self.config.monotonic()
        if cached is not None and now - cached[0] < CAMPAIGN_CACHE_S:
            return cached[1]
        with self.engine.connect() as conn:
            info = campaign_info(conn, code)
        if info is not None:
            self._campaigns[code] = (now, info)
        return info

    # --- the audit ----------------------------------------------------------------------

    def audit(
        self,
        action: str,
        *,
        campaign_id: int | None,
        unit_code: str | None,
        after: Mapping[str, Any],
    ) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                insert(AuditEventRow).values(
                    campaign_id=campaign_id,
                    at=utcnow(),
                    actor=ACTOR,
                    action=action,
                    entity="unit" if unit_code else "portal_link",
                    entity_id=unit_code,
                    after=dict(after),
                )
            )

    def refuse(
        self,
        request: Request,
        refusal: Refusal,
        *,
        fp: str,
        visit: Visit | None = None,
        claims: LinkClaims | None = None,
        info: CampaignInfo | None = None,
        extra: Mapping[str, Any] | None = None,
        audit: bool = True,
    ) -> HTMLResponse:
        """Audit the refusal (with the token's fingerprint, never the token) and answer it."""
        info = visit.info if visit else info
        if audit:
            unit_code = visit.unit.code if visit else (claims.unit if claims and info else None)
            self.audit(
                "portal.refuse",
                campaign_id=info.id if info else None,
                unit_code=unit_code,
                after={
                    "reason": refusal.code,
                    "status": refusal.status,
                    "token": fp,
                    "address": client_address(request),
                    "method": request.method,
                    **(extra or {}),
                },
            )
        return refusal_page(self.pages, request, refusal, info)

"""Leaders' links: a signed, read-only view of a campaign for the coordinator (every
domain) or a domain's lead unit (its domain). Pure: the time is passed in.

Signed like the units' personal links (pingan.core.links) but under another context, so a
unit's link is never a leader's and the other way round. Format ``<claims>.<signature>``,
claims the JSON array ``[campaign, scope, expires_unix]``; scope is ``*`` (the coordinator)
or a domain key. Rotating PINGAN_PORTAL_SECRET revokes every leader link.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from pingan.core.links import TokenInvalid, seal, unseal

_CONTEXT = b"pingan-leader-link.v1."
LEADER_PATH = "/l/"
ALL_DOMAINS = "*"


@dataclass(frozen=True)
class LeaderClaims:
    campaign: str
    scope: str  # ALL_DOMAINS, or one domain's key
    expires_at: datetime  # aware, UTC

    @property
    def domain(self) -> str | None:
        """The one domain this link shows, or None for all of them."""
        return None if self.scope == ALL_DOMAINS else self.scope


class LeaderTokenExpired(Exception):
    """Genuine but past its expiry (HTTP 410); the claims say whose it was."""

    def __init__(self, claims: LeaderClaims) -> None:
        super().__init__("expired")
        self.claims = claims


def sign_leader(claims: LeaderClaims, secret: str) -> str:
    expires = claims.expires_at.astimezone(UTC) if claims.expires_at.tzinfo else claims.expires_at
    payload = [claims.campaign, claims.scope, int(expires.replace(tzinfo=UTC).timestamp())]
    return seal(payload, secret, _CONTEXT)


def verify_leader(token: str, secret: str, now: datetime) -> LeaderClaims:
    """The claims of a leader token this secret signed; TokenInvalid or LeaderTokenExpired
    otherwise. The signature is checked before the claims are parsed."""
    payload = unseal(token, secret, _CONTEXT)
    if not (
        isinstance(payload, list)
        and len(payload) == 3
        and all(isinstance(x, str) and x for x in payload[:2])
        and type(payload[2]) is int
    ):
        raise TokenInvalid("unexpected claims")
    claims = LeaderClaims(payload[0], payload[1], datetime.fromtimestamp(payload[2], UTC))
    moment = now.replace(tzinfo=UTC) if now.tzinfo is None else now
    if moment >= claims.expires_at:
        raise LeaderTokenExpired(claims)
    return claims


def leader_url(base_url: str, token: str) -> str:
    return f"{base_url.rstrip('/')}{LEADER_PATH}{token}"

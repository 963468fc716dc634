"""Personal portal links: signing and verifying their tokens. Pure: the time is passed in.

A token names (campaign, unit, token version, expiry) and carries an HMAC-SHA256 of those
claims under the server's secret, so the portal needs no table of issued links: it trusts
what it signed. Rotating the secret makes every earlier signature fail; bumping a unit's
version in the database revokes that unit's earlier links (pingan.services.links).

Format: ``<claims>.<signature>``, both base64url without padding; the claims are the JSON
array ``[campaign, unit, version, expires_unix]``. About 100 characters for the seed.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from pydantic import SecretStr

# Keeps a signature made for one purpose from being valid for another, should the secret
# ever be reused.
_CONTEXT = b"pingan-portal-link.v1."
_TOKEN = re.compile(r"[A-Za-z0-9_-]{4,400}\.[A-Za-z0-9_-]{43}")
MAX_TOKEN_LENGTH = 444
MIN_SECRET_LENGTH = 32
LINK_PATH = "/u/"


class TokenInvalid(Exception):
    """Malformed, tampered with, or signed with another secret (HTTP 403)."""


class TokenExpired(Exception):
    """Genuine but past its expiry (HTTP 410); the claims say whose it was."""

    def __init__(self, claims: LinkClaims) -> None:
        super().__init__("expired")
        self.claims = claims


@dataclass(frozen=True)
class LinkClaims:
    campaign: str
    unit: str
    version: int
    expires_at: datetime  # aware, UTC


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _key(secret: str | bytes) -> bytes:
    key = secret.encode("utf-8") if isinstance(secret, str) else secret
    if not key:
        raise ValueError("the portal secret must not be empty")
    return key


def _signature(key: bytes, claims_part: str, context: bytes = _CONTEXT) -> str:
    return _b64(hmac.new(key, context + claims_part.encode("ascii"), hashlib.sha256).digest())


def seal(payload: list[Any], secret: str | bytes, context: bytes) -> str:
    """A compact signed token of a JSON list; ``context`` keeps each kind of link's tokens
    from being accepted as another kind's (unit, leader, sign-off links)."""
    claims_part = _b64(json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode())
    return f"{claims_part}.{_signature(_key(secret), claims_part, context)}"


def unseal(token: str, secret: str | bytes, context: bytes) -> Any:
    """The JSON a token sealed with this secret and context holds, else TokenInvalid. The
    signature is checked before anything in the claims is read, so a forged token never
    gets as far as the JSON parser; the caller checks the claims' shape."""
    if len(token) > MAX_TOKEN_LENGTH or not _TOKEN.fullmatch(token):
        raise TokenInvalid("malformed")
    claims_part, signature = token.split(".")
    if not hmac.compare_digest(signature, _signature(_key(secret), claims_part, context)):
        raise TokenInvalid("bad signature")
    try:
        return json.loads(_unb64(claims_part))
    except (binascii.Error, ValueError) as exc:
        raise TokenInvalid("undecodable claims") from exc


def _aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def sign(claims: LinkClaims, secret: str | bytes) -> str:
    if claims.version < 1:
        raise ValueError("token versions start at 1")
    payload = [
        claims.campaign,
        claims.unit,
        claims.version,
        int(_aware(claims.expires_at).timestamp()),
    ]
    return seal(payload, secret, _CONTEXT)


def verify(token: str, secret: str | bytes, now: datetime) -> LinkClaims:
    """The claims of a token this secret signed; TokenInvalid or TokenExpired otherwise.

    The signature is checked before anything in the claims is read, so a forged token
    never gets as far as the JSON parser.
    """
    payload = unseal(token, secret, _CONTEXT)
    if not (
        isinstance(payload, list)
        and len(payload) == 4
        and all(isinstance(x, str) and x for x in payload[:2])
        and all(type(x) is int for x in payload[2:])
    ):
        raise TokenInvalid("unexpected claims")
    campaign, unit, version, expires = payload
    claims = LinkClaims(campaign, unit, version, datetime.fromtimestamp(expires, UTC))
    if _aware(now) >= claims.expires_at:
        raise TokenExpired(claims)
    return claims


def fingerprint(token: str) -> str:
    """A short, one-way stand-in for a token in audit rows and logs: the token itself is a
    credential and is never stored."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()[:12]


class PortalSettings(Protocol):
    @property
    def portal_base_url(self) -> str | None: ...
    @property
    def portal_secret(self) -> SecretStr | None: ...
    @property
    def portal_link_days(self) -> int: ...


def secret_of(settings: PortalSettings) -> str | None:
    """The signing secret, or None when the portal is not configured."""
    if settings.portal_secret is None:
        return None
    return settings.portal_secret.get_secret_value() or None


def link_url(base_url: str, token: str) -> str:
    return f"{base_url.rstrip('/')}{LINK_PATH}{token}"


def personal_link(
    campaign_code: str, unit_code: str, version: int, now: datetime, settings: PortalSettings
) -> str | None:
    """The unit's personal portal link, valid portal_link_days from now; None unless both
    the portal's base URL and its secret are configured.

    Pass the moment the message speaks for (e.g. the day it was planned), not the moment it
    is rendered, so rendering the same message twice gives the same text.
    """
    secret = secret_of(settings)
    if not settings.portal_base_url or secret is None:
        return None
    expires = _aware(now) + timedelta(days=settings.portal_link_days)
    token = sign(LinkClaims(campaign_code, unit_code, version, expires), secret)
    return link_url(settings.portal_base_url, token)

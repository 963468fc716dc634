"""Short personal links for SMS: ``<portal base>/k/<code>``. Pure: the time is passed in.

An approved SMS template holds a fixed link prefix and its ``link`` variable may carry only
a few characters (Alibaba 35), too few for a signed personal link (pingan.core.links, about
100). A short code stands in for it: 10 characters of Crockford base32 (lower case, no
i/l/o/u), 50 bits taken from an HMAC-SHA256 of the link's claims (campaign, unit, token
version, expiry) under the portal secret. The same claims always give the same code, so
rendering one message twice gives one text, and nobody without the secret can guess a code.

The database keeps only a code's fingerprint (a SHA-256) with the claims; the portal
(``GET /k/<code>``) looks the fingerprint up and redirects to the personal link signed
again from those claims, so revoking or expiring the personal link closes its code too.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

from pingan.core.links import LinkClaims

ALPHABET: Final = "0123456789abcdefghjkmnpqrstvwxyz"  # Crockford base32, lower case
CODE_LENGTH: Final = 10
SHORT_PATH: Final = "/k/"
_BITS: Final = 5 * CODE_LENGTH
# Keeps a code made here from equalling any other HMAC made with the same secret.
_CONTEXT: Final = b"pingan-short-link.v1."
_FP_CONTEXT: Final = b"pingan-short-link-fp.v1."
# Crockford's reading of look-alike characters someone may type from an SMS.
_READ_AS: Final = str.maketrans({"i": "1", "l": "1", "o": "0"})


@dataclass(frozen=True)
class ShortLinkRequest:
    """A short link wanted for a unit, as personal_link takes it: the unit's code, its
    current token version and the moment the message speaks for (not the render time)."""

    unit: str
    version: int
    moment: datetime


@dataclass(frozen=True)
class ShortLink:
    """A minted short link: its claims, its code (secret: goes only into the message) and
    the code's fingerprint (what the database keeps)."""

    claims: LinkClaims
    code: str
    fingerprint: str


def _utc_seconds(moment: datetime) -> datetime:
    aware = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return datetime.fromtimestamp(int(aware.timestamp()), UTC)


def claims_for(campaign: str, request: ShortLinkRequest, link_days: int) -> LinkClaims:
    """The claims personal_link signs for this request: expiry link_days after its moment,
    whole seconds (as the token carries it)."""
    if request.version < 1:
        raise ValueError("token versions start at 1")
    expires = _utc_seconds(request.moment + timedelta(days=link_days))
    return LinkClaims(campaign, request.unit, request.version, expires)


def short_code(claims: LinkClaims, secret: str | bytes) -> str:
    """The claims' code: CODE_LENGTH characters of ALPHABET, the same for the same claims
    and secret."""
    key = secret.encode("utf-8") if isinstance(secret, str) else secret
    if not key:
        raise ValueError("the portal secret must not be empty")
    payload = [
        claims.campaign,
        claims.unit,
        claims.version,
        int(_utc_seconds(claims.expires_at).timestamp()),
    ]
    text = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    digest = hmac.new(key, _CONTEXT + text, hashlib.sha256).digest()
    number = int.from_bytes(digest, "big") >> (len(digest) * 8 - _BITS)
    chars = []
    for _ in range(CODE_LENGTH):
        number, index = divmod(number, 32)
        chars.append(ALPHABET[index])
    return "".join(reversed(chars))


def code_fingerprint(code: str) -> str:
    """What the database keeps of a code (64 hex characters): the code cannot be read
    back from it."""
    return hashlib.sha256(_FP_CONTEXT + code.encode("ascii")).hexdigest()


def short_link(campaign: str, request: ShortLinkRequest, link_days: int, secret: str) -> ShortLink:
    claims = claims_for(campaign, request, link_days)
    code = short_code(claims, secret)
    return ShortLink(claims, code, code_fingerprint(code))


def parse_code(text: str) -> str | None:
    """A code as typed (any case, i/l for 1, o for 0) in its canonical form; None when it
    cannot be one."""
    if len(text) != CODE_LENGTH:
        return None
    code = text.lower().translate(_READ_AS)
    return code if all(c in ALPHABET for c in code) else None


def short_url(base_url: str, code: str) -> str:
    """``<portal base>/k/<code>``; an SMS template's link_prefix is ``<portal base>/k/``."""
    return f"{base_url.rstrip('/')}{SHORT_PATH}{code}"

"""Phone sign-off links for the coordinator's approvers. Pure: the time is passed in.

A sign-off link names (campaign, link id, flow run) and carries an HMAC-SHA256 of those claims
under the portal's secret, with a context of its own so no unit link is ever a sign-off link
(pingan.core.links). The same row always signs to the same token, so the database keeps only
its fingerprint and the text of a message keeps a placeholder: the link is signed again each
time a message is sent. Its expiry (with the pause), single use and closing are the row's
(pingan.adapters.db.awarding.signoff_links).
"""

from __future__ import annotations

from dataclasses import dataclass

from pingan.core.campaign.model import Approver
from pingan.core.links import TokenInvalid, seal, unseal

_CONTEXT = b"pingan-signoff-link.v1."
SIGNOFF_PATH = "/s/"
ACTION_LABEL = "查看并签批"


@dataclass(frozen=True)
class SignoffClaims:
    campaign: str
    link_id: int
    run: str  # the Prefect flow run that waits, so a reused row id never reopens a link


def sign_signoff(claims: SignoffClaims, secret: str) -> str:
    payload = [claims.campaign, claims.link_id, claims.run]
    return seal(payload, secret, _CONTEXT)


def verify_signoff(token: str, secret: str) -> SignoffClaims:
    """The claims of a sign-off token this secret signed, else TokenInvalid. Whether the link
    is still open (unused, unexpired, its run still waiting) is the database's to say."""
    payload = unseal(token, secret, _CONTEXT)
    if not (
        isinstance(payload, list)
        and len(payload) == 3
        and type(payload[1]) is int
        and all(isinstance(x, str) for x in (payload[0], payload[2]))
    ):
        raise TokenInvalid("unexpected claims")
    return SignoffClaims(payload[0], payload[1], payload[2])


def signoff_url(base_url: str, token: str) -> str:
    return f"{base_url.rstrip('/')}{SIGNOFF_PATH}{token}"


def link_channels(wecom_app: bool, dingtalk_work: bool) -> frozenset[str]:
    """The channels that can carry an approver's sign-off link: email always (the SMTP
    server is a deployment setting), the app channels when the campaign configures them.
    Never SMS: an approved SMS template cannot hold a variable sign-off link."""
    return frozenset(
        {"email"}
        | ({"wecom-app"} if wecom_app else set())
        | ({"dingtalk-work"} if dingtalk_work else set())
    )


def route(approver: Approver, usable: frozenset[str]) -> tuple[str, str] | None:
    """(channel, address) of an approver: the first of 企业微信, 钉钉, then email that the
    approver gives and that is in ``usable`` (see link_channels); None when there is none
    (the campaign rules refuse such an approver)."""
    for channel, address in (
        ("wecom-app", approver.wecom_userid),
        ("dingtalk-work", approver.dingtalk_userid),
        ("email", approver.email),
    ):
        if address and channel in usable:
            return channel, address
    return None

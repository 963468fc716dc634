"""Minting a leader's link (pingan.core.leader): for the coordinator (every domain) or one
domain's lead unit. Audited with the link's fingerprint, never the link."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, insert

from pingan.adapters.db.audit import AuditEventRow
from pingan.core.leader import ALL_DOMAINS, LeaderClaims, leader_url, sign_leader
from pingan.core.links import PortalSettings, fingerprint, secret_of
from pingan.core.problems import InputError, Problem
from pingan.services.tick import CampaignHandle

MAX_DAYS = 366


@dataclass(frozen=True)
class LeaderLink:
    url: str
    scope: str  # who it is for, in words
    expires_at: datetime  # aware, UTC


def issue_leader_link(
    engine: Engine,
    handle: CampaignHandle,
    settings: PortalSettings,
    *,
    domain: str | None,
    days: int,
    now: datetime,
    actor: str,
) -> LeaderLink:
    """A signed link to the leader's view of ``domain`` (None: every domain), valid ``days``
    days; InputError (nothing written) when the portal is not configured or the domain is
    not the campaign's."""
    secret = secret_of(settings)
    if not settings.portal_base_url or secret is None:
        raise InputError(
            [Problem("设置", "PINGAN_PORTAL_BASE_URL", "须同时设置门户地址与 PINGAN_PORTAL_SECRET")]
        )
    campaign = handle.campaign
    keys = [d.key for d in campaign.domains]
    if domain is not None and domain not in keys:
        raise InputError(
            [Problem("参数", "--domain", f"领域 {domain[:40]} 不存在（可选：{'、'.join(keys)}）")]
        )
    if not 1 <= days <= MAX_DAYS:
        raise InputError([Problem("参数", "--days", f"有效天数应在 1 至 {MAX_DAYS} 之间")])
    expires = now.astimezone(UTC) + timedelta(days=days)
    token = sign_leader(LeaderClaims(campaign.code, domain or ALL_DOMAINS, expires), secret)
    scope = (
        campaign.wording.coordinator_formal
        if domain is None
        else f"{campaign.domain(domain).name}牵头单位"
    )
    with engine.begin() as conn:
        conn.execute(
            insert(AuditEventRow).values(
                campaign_id=handle.campaign_id,
                at=now.astimezone(UTC).replace(tzinfo=None),
                actor=actor[:100],
                action="leader_link.issue",
                entity="leader_link",
                entity_id=domain or ALL_DOMAINS,
                after={"token": fingerprint(token), "expires_at": expires.isoformat()},
            )
        )
    return LeaderLink(leader_url(settings.portal_base_url, token), scope, expires)

"""Awards: grant with their notices, listing, revocation and verification.

Composition ring: opens sessions, holds the campaign lease, calls the set-based SQL in
pingan.adapters.db.awarding. Certificates and the public list are pingan.services.documents.
Prefect tasks and the CLI both call these functions.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from pingan.adapters.db.awarding import award_listing, find_award, grant_awards, revoke_award
from pingan.adapters.db.locks import campaign_lock
from pingan.adapters.db.planner import plan_award_notices
from pingan.adapters.db.session import session_scope
from pingan.core.acceptance import SignOff
from pingan.core.awards import (
    AwardListing,
    Verification,
    check_certificate,
    issue_date,
)
from pingan.core.verification import check_named_certificate
from pingan.services.tick import CampaignHandle, holder_name

AWARD_LOCK = "award"


# --- awards --------------------------------------------------------------------------------


@dataclass
class AwardRun:
    issued_on: date
    signoff: SignOff
    new_award_ids: list[int]
    waiting: int
    excluded: int
    notices: int
    by_domain: dict[str, int] = field(default_factory=dict)


def grant(
    engine: Engine,
    handle: CampaignHandle,
    *,
    key: bytes,
    as_of: date,
    actor: str,
    notify: bool = True,
) -> AwardRun:
    """Number and record the awards, and plan their notices, in one transaction.

    ``key`` signs the verification codes (see award_key).
    """
    issued_on = issue_date(handle.campaign)
    with (
        campaign_lock(engine, handle.campaign_id, AWARD_LOCK, holder_name(), wait_s=30) as lease,
        session_scope(engine) as session,
    ):
        outcome = grant_awards(
            session, handle.campaign, handle.campaign_id, key=key, issued_on=issued_on, actor=actor
        )
        listing = award_listing(session, handle.campaign, handle.campaign_id, outcome.new_award_ids)
        notices = (
            plan_award_notices(session, handle.campaign, handle.campaign_id, listing, as_of)
            if notify
            else 0
        )
        lease.check(session.connection())  # fenced: the lease is ours at commit
    return AwardRun(
        issued_on,
        outcome.signoff,
        outcome.new_award_ids,
        outcome.waiting,
        outcome.excluded,
        notices,
        dict(Counter(a.domain for a in listing)),
    )


def listing(engine: Engine, handle: CampaignHandle) -> list[AwardListing]:
    with Session(engine) as session:
        return award_listing(session, handle.campaign, handle.campaign_id)


def revoke(
    engine: Engine, handle: CampaignHandle, *, target: str, reason: str, actor: str
) -> AwardListing:
    with (
        campaign_lock(engine, handle.campaign_id, AWARD_LOCK, holder_name(), wait_s=30) as lease,
        session_scope(engine) as session,
    ):
        row = revoke_award(session, handle.campaign_id, target=target, reason=reason, actor=actor)
        listing = award_listing(session, handle.campaign, handle.campaign_id, [row.id])[0]
        lease.check(session.connection())  # fenced: the lease is ours at commit
        return listing


def verify(
    engine: Engine, handle: CampaignHandle, number: str, code: str, *, name: str | None = None
) -> Verification:
    """Whether a certificate is genuine; with ``name`` (the unit named on it), a real number
    and code copied onto another unit's certificate is refused."""
    with Session(engine) as session:
        row = find_award(session, handle.campaign_id, number.strip())
        found = (
            None
            if row is None
            else award_listing(session, handle.campaign, handle.campaign_id, [row.id])[0]
        )
    if name is not None:
        return check_named_certificate(number, code, name, found)
    return check_certificate(number, code, found)

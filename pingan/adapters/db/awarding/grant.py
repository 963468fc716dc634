"""Numbering and recording the awards a sign-off approves, in one pass over the latest results.

Numbers run per domain in village, then cell-code order and continue after the highest ever
issued (revoked included), so a number is never reused.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pingan.adapters.db.assessments import AssessmentRow, AwardRow
from pingan.adapters.db.audit import AuditEventRow
from pingan.adapters.db.awarding.latest import latest_assessments
from pingan.adapters.db.awarding.signoff import latest_signoff
from pingan.adapters.db.base import table, utcnow
from pingan.adapters.db.bulk import bulk_insert
from pingan.adapters.db.campaigns import DomainRow
from pingan.adapters.db.units import UnitRow
from pingan.core.acceptance import SignOff
from pingan.core.awards import (
    Candidate,
    GrantOutcome,
    NewAward,
    approved_signoff,
    assign_numbers,
    award_number,
    verification_code,
)
from pingan.core.campaign import Campaign


@dataclass(frozen=True)
class _Issue:
    """What every award of one run shares."""

    campaign: Campaign
    campaign_id: int
    key: bytes
    issued_on: date


def grant_awards(
    session: Session,
    campaign: Campaign,
    campaign_id: int,
    *,
    key: bytes,
    issued_on: date,
    actor: str,
) -> GrantOutcome:
    signoff = approved_signoff(latest_signoff(session, campaign_id))
    awarded_units = select(AwardRow.unit_id).where(AwardRow.campaign_id == campaign_id)
    rows = session.execute(
        latest_assessments(campaign_id).where(
            AssessmentRow.passed.is_(True), UnitRow.id.not_in(awarded_units)
        )
    ).all()
    candidates, waiting, excluded = _candidates(rows, signoff)
    domain_ids = dict(
        session.execute(
            select(DomainRow.key, DomainRow.id).where(DomainRow.campaign_id == campaign_id)
        ).all()
    )
    new = assign_numbers(candidates, _highest_seqs(session, campaign_id, domain_ids))
    issue = _Issue(campaign, campaign_id, key, issued_on)
    by_unit = {r.unit_id: r for r in rows}
    now = utcnow()
    bulk_insert(
        session,
        table(AwardRow),
        [_award_values(issue, a, domain_ids[a.domain], by_unit[a.unit_id]) for a in new],
    )
    new_ids = _current_award_ids(session, campaign_id, [a.unit_id for a in new])
    if new:
        session.add(_grant_event(issue, new, signoff, actor, now))
    return GrantOutcome(signoff, sorted(new_ids), waiting, excluded)


def _grant_event(
    issue: _Issue, new: Sequence[NewAward], signoff: SignOff, actor: str, now: datetime
) -> AuditEventRow:
    return AuditEventRow(
        campaign_id=issue.campaign_id,
        actor=actor,
        action="award.grant",
        entity="award",
        entity_id=None,
        before=None,
        after={
            "awarded": len(new),
            "sign_off": signoff.id,
            "issued_on": issue.issued_on.isoformat(),
            "by_domain": dict(Counter(a.domain for a in new)),
        },
        at=now,
    )


def _candidates(rows: Sequence[Any], signoff: SignOff) -> tuple[list[Candidate], int, int]:
    """Passed cells the sign-off covers and did not hold back; and how many wait or are held."""
    candidates: list[Candidate] = []
    waiting = excluded = 0
    for r in rows:
        if r.created_at > signoff.at:
            waiting += 1
        elif r.code in signoff.exclusions:
            excluded += 1
        else:
            candidates.append(Candidate(r.unit_id, r.domain, r.village or "", r.code))
    return candidates, waiting, excluded


def _highest_seqs(session: Session, campaign_id: int, domain_ids: dict[str, int]) -> dict[str, int]:
    key_of = {v: k for k, v in domain_ids.items()}
    return {
        key_of[d]: int(s)
        for d, s in session.execute(
            select(AwardRow.domain_id, func.max(AwardRow.seq))
            .where(AwardRow.campaign_id == campaign_id)
            .group_by(AwardRow.domain_id)
        )
    }


def _award_values(issue: _Issue, a: NewAward, domain_id: int, cell: Any) -> dict[str, Any]:
    campaign = issue.campaign
    d = campaign.domain(a.domain)
    number = award_number(
        campaign.award.number_format,
        prefix=campaign.award.prefix,
        title=d.title or d.name,
        year=issue.issued_on.year,
        seq=a.seq,
        domain=a.domain,
    )
    return {
        "campaign_id": issue.campaign_id,
        "domain_id": domain_id,
        "unit_id": a.unit_id,
        "seq": a.seq,
        "number": number,
        "issued_on": issue.issued_on,
        "verification_code": verification_code(
            issue.key,
            campaign=campaign.code,
            number=number,
            cell_code=cell.code,
            cell_name=cell.name,
            issued_on=issue.issued_on,
        ),
        "revoked_at": None,
        "revoked_reason": None,
    }


def _current_award_ids(session: Session, campaign_id: int, unit_ids: Sequence[int]) -> list[int]:
    ids: list[int] = []
    for i in range(0, len(unit_ids), 5000):
        ids += session.scalars(
            select(AwardRow.id).where(
                AwardRow.campaign_id == campaign_id,
                AwardRow.unit_id.in_(unit_ids[i : i + 5000]),
                AwardRow.revoked_at.is_(None),
            )
        ).all()
    return ids

"""Reading issued awards: the listing (for documents, notices and the faces) and one by number."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from pingan.adapters.db.assessments import AwardRow
from pingan.adapters.db.campaigns import DomainRow
from pingan.adapters.db.units import UnitRow
from pingan.core.awards import AwardListing
from pingan.core.campaign import Campaign


def award_listing(
    session: Session, campaign: Campaign, campaign_id: int, ids: Sequence[int] | None = None
) -> list[AwardListing]:
    village = aliased(UnitRow)
    q = (
        select(
            AwardRow.id,
            DomainRow.key,
            AwardRow.seq,
            AwardRow.number,
            UnitRow.code,
            UnitRow.name,
            village.name.label("village"),
            AwardRow.issued_on,
            AwardRow.verification_code,
            AwardRow.revoked_at,
            AwardRow.revoked_reason,
        )
        .join(DomainRow, DomainRow.id == AwardRow.domain_id)
        .join(UnitRow, UnitRow.id == AwardRow.unit_id)
        .outerjoin(village, village.id == UnitRow.village_id)
        .where(AwardRow.campaign_id == campaign_id)
        .order_by(DomainRow.key, AwardRow.seq)
    )
    wanted = set(ids) if ids is not None else None
    if wanted is not None and len(wanted) <= 1000:
        q = q.where(AwardRow.id.in_(sorted(wanted)))
    unit_names = {u.code: u.name for u in campaign.units}
    out: list[AwardListing] = []
    for r in session.execute(q):
        # Filtered here, not by IN (…): a run can award 90,000 cells, past PostgreSQL's
        # parameter limit, and reading the campaign's awards once is one indexed scan.
        if wanted is not None and r.id not in wanted:
            continue
        d = campaign.domain(r.key)
        out.append(
            AwardListing(
                r.id,
                r.key,
                d.title or d.name,
                r.seq,
                r.number,
                r.code,
                r.name,
                r.village,
                unit_names.get(d.lead, d.lead),
                r.issued_on,
                r.verification_code,
                r.revoked_at,
                r.revoked_reason,
            )
        )
    return out


def find_award(session: Session, campaign_id: int, number: str) -> AwardRow | None:
    return session.scalars(
        select(AwardRow).where(AwardRow.campaign_id == campaign_id, AwardRow.number == number)
    ).first()

"""What an awarded cell's notice names: its award, read when the notice is rendered."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from pingan.adapters.db.assessments import AwardRow
from pingan.adapters.db.campaigns import DomainRow
from pingan.core.awards import issuer_name
from pingan.core.campaign import Campaign

CHUNK = 5000


def award_fields(
    session: Session, campaign: Campaign, campaign_id: int, unit_ids: Collection[int]
) -> dict[int, dict[str, Any]]:
    """By awarded unit: the title, the lead unit, the number, its code and the issue date.

    A cell is awarded at most once per campaign (a revoked award is never re-granted), so
    the unit names its award.
    """
    names = {u.code: u.name for u in campaign.units}
    ids = sorted(unit_ids)
    out: dict[int, dict[str, Any]] = {}
    for i in range(0, len(ids), CHUNK):
        rows = session.execute(
            select(
                AwardRow.unit_id,
                DomainRow.key,
                AwardRow.number,
                AwardRow.verification_code,
                AwardRow.issued_on,
            )
            .join(DomainRow, DomainRow.id == AwardRow.domain_id)
            .where(AwardRow.campaign_id == campaign_id, AwardRow.unit_id.in_(ids[i : i + CHUNK]))
        )
        for r in rows:
            d = campaign.domain(r.key)
            out[r.unit_id] = {
                "title": d.title or d.name,
                "lead": issuer_name(campaign, names.get(d.lead, d.lead)),
                "number": r.number,
                "code": r.verification_code,
                "issued_on": r.issued_on,
            }
    return out

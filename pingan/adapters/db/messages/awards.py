"""What an awarded cell's notice names: its award, read when the notice is rendered, and —
with the portal's public address — where anyone can verify its certificate."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from pingan.adapters.db.assessments import AwardRow
from pingan.adapters.db.campaigns import DomainRow
from pingan.core.awards import issuer_name
from pingan.core.campaign import Campaign
from pingan.core.verification import certificate_ref, verify_url

CHUNK = 5000


def award_fields(
    session: Session,
    campaign: Campaign,
    campaign_id: int,
    unit_ids: Collection[int],
    portal_base_url: str | None = None,
) -> dict[int, dict[str, Any]]:
    """By awarded unit: the title, the lead unit, the number, its code, the issue date and
    ``verify_url``, the public verification page its certificate's QR code holds (None
    without ``portal_base_url``).

    A cell is awarded at most once per campaign (a revoked award is never re-granted), so
    the unit names its award.
    """
    names = {u.code: u.name for u in campaign.units}
    ids = sorted(unit_ids)
    out: dict[int, dict[str, Any]] = {}
    for i in range(0, len(ids), CHUNK):
        rows = session.execute(
            select(
                AwardRow.id,
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
                "verify_url": (
                    verify_url(portal_base_url, certificate_ref(r.id, r.verification_code))
                    if portal_base_url
                    else None
                ),
            }
    return out

"""Finding a certificate for its public verification page: by the reference printed in its
QR code (the award's id), or by the number a person types. Each answers with the campaign's
code, so the caller can read that campaign's configuration (titles, issuers) once."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, select

from pingan.adapters.db.assessments import AwardRow
from pingan.adapters.db.campaigns import CampaignRow

# A typed number that matches more awards than this is not a certificate number.
MAX_MATCHES = 10


@dataclass(frozen=True)
class AwardHit:
    award_id: int
    campaign_code: str


def award_by_id(conn: Connection, award_id: int) -> AwardHit | None:
    row = conn.execute(
        select(AwardRow.id, CampaignRow.code)
        .join(CampaignRow, CampaignRow.id == AwardRow.campaign_id)
        .where(AwardRow.id == award_id)
    ).first()
    return None if row is None else AwardHit(row.id, row.code)


def awards_by_number(conn: Connection, number: str) -> list[AwardHit]:
    """Every award with this number (numbers are unique within a campaign only)."""
    rows = conn.execute(
        select(AwardRow.id, CampaignRow.code)
        .join(CampaignRow, CampaignRow.id == AwardRow.campaign_id)
        .where(AwardRow.number == number)
        .order_by(AwardRow.id)
        .limit(MAX_MATCHES)
    )
    return [AwardHit(r.id, r.code) for r in rows]

"""Finding a certificate for its public verification page: by the reference printed in its
QR code (the award's id), or by the number a person types. Each answers with the campaign's
code, so the caller can read that campaign's configuration (titles, issuers) once."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, func, select

from pingan.adapters.db.assessments import AwardRow
from pingan.adapters.db.campaigns import CampaignRow, DomainRow
from pingan.adapters.db.units import UnitRow

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


@dataclass(frozen=True)
class AwardLink:
    """One line of a leader's certificate list."""

    award_id: int
    number: str
    cell_name: str


def awards_in_force(
    conn: Connection, campaign_id: int, domain: str | None, limit: int
) -> tuple[list[AwardLink], int]:
    """The first ``limit`` awards in force (of one domain, or all), in number order, and how
    many there are: two bounded queries, not the campaign's whole listing."""
    terms = [AwardRow.campaign_id == campaign_id, AwardRow.revoked_at.is_(None)]
    if domain is not None:
        terms.append(DomainRow.key == domain)
    scoped = select(AwardRow.id).join(DomainRow, DomainRow.id == AwardRow.domain_id).where(*terms)
    total = conn.scalar(select(func.count()).select_from(scoped.subquery())) or 0
    rows = conn.execute(
        select(AwardRow.id, AwardRow.number, UnitRow.name)
        .join(DomainRow, DomainRow.id == AwardRow.domain_id)
        .join(UnitRow, UnitRow.id == AwardRow.unit_id)
        .where(*terms)
        .order_by(DomainRow.key, AwardRow.seq)
        .limit(limit)
    )
    return [AwardLink(r.id, r.number, r.name) for r in rows], int(total)

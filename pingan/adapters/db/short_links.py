"""Short personal links (pingan.core.short_links): the table behind ``/k/<code>`` and the
set-based minting the sender calls before an SMS goes out.

A row is keyed by the code's fingerprint and holds the claims of the personal link it
stands for; the database never holds a usable code or link. Minting is idempotent (one
INSERT … ON CONFLICT DO NOTHING per chunk), so sending a message twice mints nothing new.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import Connection, ForeignKey, String, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from pingan.adapters.db.base import Base, table, utcnow
from pingan.adapters.db.bulk import insert_or_ignore
from pingan.adapters.db.campaigns import CampaignRow
from pingan.adapters.db.links import FIRST_VERSION, PortalLinkRow
from pingan.adapters.db.units import UnitRow
from pingan.core.campaign import Campaign
from pingan.core.links import PortalSettings, secret_of
from pingan.core.short_links import ShortLink, ShortLinkRequest, short_link, short_url

# Rows per round of minting and per IN (…) list.
CHUNK = 1000
K = TypeVar("K", bound=Hashable)


class ShortLinkRow(Base):
    __tablename__ = "short_link"

    fingerprint: Mapped[str] = mapped_column(String(64), primary_key=True)
    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("campaign.id", ondelete="CASCADE"), index=True
    )
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id", ondelete="CASCADE"), index=True)
    unit_code: Mapped[str] = mapped_column(String(64))
    version: Mapped[int]
    expires_at: Mapped[datetime]  # naive UTC, whole seconds
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


@dataclass(frozen=True)
class ShortLinkHit:
    """What a code's fingerprint leads to: the stored claims and the unit's current token
    version (a lower stored version means the unit's links were revoked since)."""

    campaign: str
    unit: str
    version: int
    expires_at: datetime  # aware, UTC
    current_version: int


def _naive(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(tzinfo=None)


def _chunks(items: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for i in range(0, len(items), CHUNK):
        yield items[i : i + CHUNK]


def mint(session: Session, campaign_id: int, links: Mapping[str, tuple[ShortLink, int]]) -> None:
    """Store each link (by fingerprint, with its unit id) unless already there."""
    now = utcnow()
    rows = [
        {
            "fingerprint": fp,
            "campaign_id": campaign_id,
            "unit_id": unit_id,
            "unit_code": link.claims.unit,
            "version": link.claims.version,
            "expires_at": _naive(link.claims.expires_at),
            "created_at": now,
        }
        for fp, (link, unit_id) in sorted(links.items())
    ]
    stmt = insert_or_ignore(session, table(ShortLinkRow)).on_conflict_do_nothing(
        index_elements=["fingerprint"]
    )
    for chunk in _chunks(rows):
        # One statement compiled once; the driver sends it as multi-row INSERTs.
        session.execute(stmt, list(chunk))


def stored_claims(session: Session, fingerprints: Sequence[str]) -> dict[str, tuple[Any, ...]]:
    """(campaign id, unit code, version, naive expiry) stored under each fingerprint."""
    found: dict[str, tuple[Any, ...]] = {}
    R = ShortLinkRow
    for chunk in _chunks(sorted(set(fingerprints))):
        query = select(R.fingerprint, R.campaign_id, R.unit_code, R.version, R.expires_at)
        for fp, *claims in session.execute(query.where(R.fingerprint.in_(list(chunk)))):
            found[fp] = tuple(claims)
    return found


def _unit_ids(session: Session, campaign_id: int, codes: Iterable[str]) -> dict[str, int]:
    ids: dict[str, int] = {}
    for chunk in _chunks(sorted(set(codes))):
        query = select(UnitRow.code, UnitRow.id).where(
            UnitRow.campaign_id == campaign_id, UnitRow.code.in_(list(chunk))
        )
        ids.update((code, uid) for code, uid in session.execute(query))
    return ids


def short_links(
    session: Session,
    campaign: Campaign,
    portal: PortalSettings | None,
    requests: Mapping[K, ShortLinkRequest],
) -> dict[K, str | None]:
    """``<portal base>/k/<code>`` for each request, minted in the session's transaction;
    None for all when the portal is not configured, and for a unit not in the campaign (or,
    should two links' codes ever collide, for the later one). An SMS template's
    ``link_prefix`` is then ``<portal base>/k/``."""
    out: dict[K, str | None] = dict.fromkeys(requests)
    secret = secret_of(portal) if portal is not None else None
    if portal is None or secret is None or not portal.portal_base_url or not requests:
        return out
    campaign_id = session.scalar(select(CampaignRow.id).where(CampaignRow.code == campaign.code))
    if campaign_id is None:
        return out
    unit_ids = _unit_ids(session, campaign_id, (r.unit for r in requests.values()))
    made = {
        key: short_link(campaign.code, r, portal.portal_link_days, secret)
        for key, r in requests.items()
        if r.unit in unit_ids
    }
    mint(session, campaign_id, {s.fingerprint: (s, unit_ids[s.claims.unit]) for s in made.values()})
    stored = stored_claims(session, [s.fingerprint for s in made.values()])
    for key, s in made.items():
        c = s.claims
        if stored.get(s.fingerprint) == (campaign_id, c.unit, c.version, _naive(c.expires_at)):
            out[key] = short_url(portal.portal_base_url, s.code)
    return out


def find_short_link(conn: Connection, fingerprint: str) -> ShortLinkHit | None:
    """The claims stored under a code's fingerprint, with the unit's current version."""
    R = ShortLinkRow
    row = conn.execute(
        select(
            CampaignRow.code,
            R.unit_code,
            R.version,
            R.expires_at,
            func.coalesce(PortalLinkRow.version, FIRST_VERSION).label("current"),
        )
        .join(CampaignRow, CampaignRow.id == R.campaign_id)
        .outerjoin(PortalLinkRow, PortalLinkRow.unit_id == R.unit_id)
        .where(R.fingerprint == fingerprint)
    ).first()
    if row is None:
        return None
    expires = row.expires_at.replace(tzinfo=UTC)
    return ShortLinkHit(row.code, row.unit_code, row.version, expires, int(row.current))

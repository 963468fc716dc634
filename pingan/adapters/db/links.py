"""Personal portal links: the token version each unit's links must carry.

A link is not stored: it is signed on demand from (campaign, unit, version, expiry). A unit
without a row is at version 1; revoking its links bumps the version, so every link signed
with an older one is refused from then on, while new messages carry the new version.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from pingan.adapters.db.base import Base
from pingan.adapters.db.bulk import insert_or_ignore

FIRST_VERSION = 1


class PortalLinkRow(Base):
    __tablename__ = "portal_link"

    unit_id: Mapped[int] = mapped_column(
        ForeignKey("unit.id", ondelete="CASCADE"), primary_key=True
    )
    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("campaign.id", ondelete="CASCADE"), index=True
    )
    version: Mapped[int] = mapped_column(default=FIRST_VERSION)
    # When, and by whom, the links of the previous versions were last revoked.
    revoked_at: Mapped[datetime | None]
    revoked_by: Mapped[str | None] = mapped_column(String(100))


class LinkViewRow(Base):
    """Read receipts (签收): when a unit's personal link was first and last opened.

    Opening the link is the one sign that someone of the unit read a message carrying it;
    a message counts as seen when the unit's link was opened at or after it was sent."""

    __tablename__ = "link_view"

    unit_id: Mapped[int] = mapped_column(
        ForeignKey("unit.id", ondelete="CASCADE"), primary_key=True
    )
    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("campaign.id", ondelete="CASCADE"), index=True
    )
    first_at: Mapped[datetime]  # naive UTC
    last_at: Mapped[datetime]
    views: Mapped[int] = mapped_column(default=1)


def record_view(conn: Connection, campaign_id: int, unit_id: int, at: datetime) -> None:
    """Note that the unit's personal link was opened at ``at`` (naive UTC); one statement,
    safe under concurrent visits. The caller commits."""
    stmt = insert_or_ignore(conn, LinkViewRow.__table__).values(
        unit_id=unit_id, campaign_id=campaign_id, first_at=at, last_at=at, views=1
    )
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=["unit_id"],
            set_={"last_at": stmt.excluded.last_at, "views": LinkViewRow.views + 1},
        )
    )

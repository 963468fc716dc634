"""What the portal has written to disk for each unit on each day (the campaign's local day):
stored evidence and quarantined refusals, in bytes, so a daily quota can be enforced."""

from __future__ import annotations

from datetime import date

from sqlalchemy import BigInteger, ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

from pingan.adapters.db.base import Base


class PortalUsageRow(Base):
    __tablename__ = "portal_usage"

    unit_id: Mapped[int] = mapped_column(
        ForeignKey("unit.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[date] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("campaign.id", ondelete="CASCADE"), index=True
    )
    stored_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    quarantined_bytes: Mapped[int] = mapped_column(BigInteger, default=0)

"""Personal portal links: the token version each unit's links must carry.

A link is not stored: it is signed on demand from (campaign, unit, version, expiry). A unit
without a row is at version 1; revoking its links bumps the version, so every link signed
with an older one is refused from then on, while new messages carry the new version.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from pingan.adapters.db.base import Base

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

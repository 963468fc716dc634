"""Phone sign-off links: one row per approver of an acceptance run waiting for sign-off.

The link itself is not stored: it is signed again from (campaign, id, expiry) whenever its
message is sent (pingan.core.signoff), and only its fingerprint is kept, for the audit.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from pingan.adapters.db.base import Base, utcnow


class SignoffLinkRow(Base):
    __tablename__ = "signoff_link"
    __table_args__ = (Index("ix_signoff_link_run", "campaign_id", "flow_run_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id", ondelete="CASCADE"))
    flow_run_id: Mapped[str] = mapped_column(String(36))
    approver: Mapped[str] = mapped_column(String(200))
    channel: Mapped[str] = mapped_column(String(16))
    address: Mapped[str] = mapped_column(String(254))
    fingerprint: Mapped[str | None] = mapped_column(String(12))
    as_of: Mapped[date] = mapped_column(Date)  # the results the approver signs for
    expires_at: Mapped[datetime]
    notification_id: Mapped[int | None] = mapped_column(
        ForeignKey("notification.id", ondelete="SET NULL")
    )
    used_at: Mapped[datetime | None]
    # Why the link no longer opens the form: "answered" (the run has its sign-off, from this
    # link, another approver or the Prefect UI), "timeout" (the wait ran out).
    closed_reason: Mapped[str | None] = mapped_column(String(16))
    closed_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

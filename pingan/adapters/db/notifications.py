"""The notification outbox: one row per planned message, deduplicated by the database."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from pingan.adapters.db.base import Base, utcnow

NOTIFICATION_STATES = ("queued", "leased", "sent", "failed", "dead", "cancelled")


class NotificationRow(Base):
    __tablename__ = "notification"
    __table_args__ = (
        Index("ix_notification_campaign_state", "campaign_id", "state", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id", ondelete="CASCADE"))
    # What the message is about, e.g. (campaign, obligation, ladder level) or (award): a
    # repeated run cannot plan twice (the scheme is pingan.adapters.db.planner.rows).
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(16))  # reminder, escalation, digest, award, bulletin
    level: Mapped[int] = mapped_column(default=0)
    # No foreign keys on the recipient and the obligation: every writer selects them from
    # unit and obligation in the same statement, and on PostgreSQL each FK costs a trigger
    # call per row when a tick plans a million messages. Rows go with their campaign.
    recipient_unit_id: Mapped[int] = mapped_column(index=True)
    obligation_id: Mapped[int | None]
    planned_on: Mapped[date] = mapped_column(Date)
    # Rendered when first sent (or previewed), so planning a million rows stays one INSERT …
    # SELECT; bulletins and a lead unit's award list are rendered when planned.
    subject: Mapped[str | None] = mapped_column(String(500))
    body: Mapped[str | None] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16), default="queued")
    channel: Mapped[str | None] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(String(1000))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]

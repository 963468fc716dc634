"""Obligations (one per gate and responsible unit), submissions and their files."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Date, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from pingan.adapters.db.base import Base, utcnow

# Half of each page is left free, so a tick can rewrite every row of a page in place.
FILLFACTOR = 50
OBLIGATION_STATUSES = ("not_open", "open", "due_soon", "overdue", "done", "done_late", "waived")


class ObligationRow(Base):
    __tablename__ = "obligation"
    __table_args__ = (
        UniqueConstraint("gate_id", "unit_id"),
        # Indexes serve the hot statements only, and none holds a column the daily
        # evaluation rewrites: on PostgreSQL its updates stay HOT (heap-only, no index
        # entry), in the room the fill factor leaves in each page. The tick reads a whole
        # campaign: a sequential scan, which an index on campaign_id would turn into a
        # lookup per row on SQLite.
        Index("ix_obligation_unit_id", "unit_id"),
        {"postgresql_with": {"fillfactor": FILLFACTOR}},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # No FK on campaign_id: the gate already ties the row to its campaign (and cascades),
    # and each FK costs a trigger per row when a million obligations are materialised.
    campaign_id: Mapped[int]
    gate_id: Mapped[int] = mapped_column(ForeignKey("gate.id", ondelete="CASCADE"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id", ondelete="CASCADE"))
    # The item's domain (status.obligation_domain_expr(): the unit's, or for a unit without
    # one the domain it leads), so the status report counts per domain without a join to
    # unit. Set by the load and kept in step when a unit moves. Derived, so no FK (a
    # trigger per materialised row), and in no index: the evaluation never rewrites it.
    domain_id: Mapped[int | None]
    # Copied from the gate so the daily evaluation is one UPDATE without a join.
    opens_on: Mapped[date] = mapped_column(Date)
    due_on: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default="not_open")
    status_as_of: Mapped[date | None] = mapped_column(Date)
    # Working days from the due date to status_as_of: negative = days left, positive = overdue.
    wd_offset: Mapped[int] = mapped_column(default=0)
    days_overdue: Mapped[int] = mapped_column(default=0)
    escalation_level: Mapped[int] = mapped_column(default=0)
    # Highest ladder level already planned in the outbox; a level is announced once.
    notified_level: Mapped[int] = mapped_column(default=0)
    done_on: Mapped[date | None] = mapped_column(Date)
    waived: Mapped[bool] = mapped_column(default=False)
    waived_reason: Mapped[str | None] = mapped_column(String(500))


class SubmissionRow(Base):
    __tablename__ = "submission"
    __table_args__ = (Index("ix_submission_obligation_id", "obligation_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id", ondelete="CASCADE"))
    obligation_id: Mapped[int] = mapped_column(ForeignKey("obligation.id", ondelete="CASCADE"))
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    received_on: Mapped[date] = mapped_column(Date)  # in the campaign's timezone
    late: Mapped[bool] = mapped_column(default=False)
    source: Mapped[str] = mapped_column(String(16))  # inbox, manifest, portal
    submitted_by: Mapped[str | None] = mapped_column(String(200))
    note: Mapped[str | None] = mapped_column(String(500))


class SubmissionFileRow(Base):
    __tablename__ = "submission_file"
    # The same content sent twice for the same obligation is one file, not two.
    __table_args__ = (UniqueConstraint("obligation_id", "sha256"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submission.id", ondelete="CASCADE"))
    obligation_id: Mapped[int] = mapped_column(ForeignKey("obligation.id", ondelete="CASCADE"))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size: Mapped[int] = mapped_column(BigInteger)
    original_name: Mapped[str] = mapped_column(String(500))
    media_type: Mapped[str] = mapped_column(String(16))

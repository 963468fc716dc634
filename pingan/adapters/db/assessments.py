"""Assessments with per-item scores, the coordinator's sign-off, and awards (命名挂牌)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, Float, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from pingan.adapters.db.base import Base, utcnow


class AssessmentRow(Base):
    __tablename__ = "assessment"
    # Round 2+ is a re-assessment (复查); earlier rounds stay as history.
    __table_args__ = (UniqueConstraint("unit_id", "round"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id", ondelete="CASCADE"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id", ondelete="CASCADE"))
    round: Mapped[int] = mapped_column(default=1)
    assessed_on: Mapped[date] = mapped_column(Date)
    total: Mapped[float] = mapped_column(Float)
    vetoed: Mapped[bool]
    passed: Mapped[bool]
    assessor: Mapped[str | None] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(String(16))  # spreadsheet, ui, demo
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AssessmentScoreRow(Base):
    __tablename__ = "assessment_score"

    assessment_id: Mapped[int] = mapped_column(
        ForeignKey("assessment.id", ondelete="CASCADE"), primary_key=True
    )
    item_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[float] = mapped_column(Float)


class SignOffRow(Base):
    __tablename__ = "sign_off"

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id", ondelete="CASCADE"))
    approver: Mapped[str] = mapped_column(String(100))
    approved: Mapped[bool]
    comment: Mapped[str | None] = mapped_column(String(1000))
    exclusions: Mapped[dict[str, Any]]
    at: Mapped[datetime] = mapped_column(default=utcnow)


class AwardRow(Base):
    __tablename__ = "award"
    __table_args__ = (
        UniqueConstraint("domain_id", "seq"),
        Index("ix_award_unit_id", "unit_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id", ondelete="CASCADE"))
    domain_id: Mapped[int] = mapped_column(ForeignKey("domain.id"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"))
    seq: Mapped[int]
    number: Mapped[str] = mapped_column(String(100))
    issued_on: Mapped[date] = mapped_column(Date)
    verification_code: Mapped[str] = mapped_column(String(32))
    revoked_at: Mapped[datetime | None]
    revoked_reason: Mapped[str | None] = mapped_column(String(500))

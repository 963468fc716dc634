"""Units (organisations, villages, cells), their contacts and domain participation.

Cells are units of kind ``cell``: one table keeps set-based SQL over "everyone who owes
something" a single scan, whatever kind of unit owes it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint, select, text
from sqlalchemy.orm import Mapped, mapped_column

from pingan.adapters.db.base import Base, utcnow

UNIT_KINDS = ("coordinator", "org", "village", "cell")
# The few units that left the roster: readers of a whole campaign's items leave theirs out
# by this, instead of looking up every item's unit.
NOT_ACTIVE = "status <> 'active'"


class UnitRow(Base):
    __tablename__ = "unit"
    __table_args__ = (
        UniqueConstraint("campaign_id", "code"),
        Index("ix_unit_campaign_kind_domain", "campaign_id", "kind", "domain_id"),
        Index("ix_unit_village_id", "village_id"),
        Index(
            "ix_unit_withdrawn",
            "campaign_id",
            sqlite_where=text(NOT_ACTIVE),
            postgresql_where=text(NOT_ACTIVE),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))
    domain_id: Mapped[int | None] = mapped_column(ForeignKey("domain.id"))
    village_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"))
    category: Mapped[str | None] = mapped_column(String(64))
    # Who hears about this unit's late items at the "lead" rung of the ladder: the domain's
    # lead unit for a cell, the coordinator for everyone else. Set at load time. Derived
    # data, so no foreign key: on PostgreSQL each FK costs a trigger per inserted row.
    supervisor_id: Mapped[int | None]
    # "active" or "withdrawn": a unit that leaves the roster is kept with its history.
    status: Mapped[str] = mapped_column(String(16), default="active")
    withdrawn_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


def inactive_units(campaign_id: int) -> Any:
    """SELECT of the campaign's units that are not active: a handful, found through
    ix_unit_withdrawn (the predicate is literal text, as the partial index's, so SQLite
    matches it). ``unit_id NOT IN`` this leaves their items out of a whole-campaign scan."""
    return select(UnitRow.id).where(UnitRow.campaign_id == campaign_id, text(f"unit.{NOT_ACTIVE}"))


class ContactRow(Base):
    """One person of a unit (负责人, 联络员 …), or — without a name — the unit's shared
    addresses. Group addresses (robots, webhook) ride on whichever row the roster gave them;
    a row without a name is never a person, so its email is a shared mailbox."""

    __tablename__ = "contact"

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id", ondelete="CASCADE"), index=True)
    seq: Mapped[int] = mapped_column(default=1, server_default="1")  # the roster's order
    name: Mapped[str | None] = mapped_column(String(100))
    role: Mapped[str | None] = mapped_column(String(32))  # 负责人, 联络员 …
    mobile: Mapped[str | None] = mapped_column(String(20))
    email: Mapped[str | None] = mapped_column(String(254))
    # References such as "secret:campus-wecom", never the secret itself.
    wecom_ref: Mapped[str | None] = mapped_column(String(128))
    dingtalk_ref: Mapped[str | None] = mapped_column(String(128))
    webhook_ref: Mapped[str | None] = mapped_column(String(128))
    # The person's own accounts: WeCom app messages and DingTalk work notices go to these.
    wecom_userid: Mapped[str | None] = mapped_column(String(64))
    dingtalk_userid: Mapped[str | None] = mapped_column(String(64))


class DomainUnitRow(Base):
    """A unit's role in a domain: its lead unit or a participating unit."""

    __tablename__ = "domain_unit"

    domain_id: Mapped[int] = mapped_column(
        ForeignKey("domain.id", ondelete="CASCADE"), primary_key=True
    )
    unit_id: Mapped[int] = mapped_column(
        ForeignKey("unit.id", ondelete="CASCADE"), primary_key=True
    )
    role: Mapped[str] = mapped_column(String(16))  # lead, participant

"""Deliveries: one row per (notification, channel, address), and shared rate-limit windows.

A notification is the message the campaign owes a unit; a delivery is one attempt path to
reach it (its email, its WeCom robot …). Retries, leases and errors live here, per path, so
a dead robot key does not hold back the email, and the notification's own state is a roll-up.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, String, UniqueConstraint, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from pingan.adapters.db.base import Base, utcnow

# "cancelled": the obligation was done or waived before the message went out.
DELIVERY_STATES = ("queued", "leased", "sent", "failed", "dead", "cancelled")
FINAL_STATES = ("sent", "dead", "cancelled")
PENDING_STATES = ("queued", "leased", "failed")


class DeliveryRow(Base):
    __tablename__ = "delivery"
    __table_args__ = (
        UniqueConstraint("notification_id", "channel", "address"),
        Index("ix_delivery_campaign_state", "campaign_id", "state", "next_attempt_at"),
        Index("ix_delivery_notification_contact", "notification_id", "contact_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # No FK: expansion inserts each delivery from its notification in one statement, and a
    # key cost a trigger call per inserted row; a trigger on notification deletes a deleted
    # notification's deliveries instead (migration 0017).
    notification_id: Mapped[int]
    # No FK: the notification already ties the row to its campaign (and cascades), and the
    # claim query filters on it without a join.
    campaign_id: Mapped[int]
    channel: Mapped[str] = mapped_column(String(16))
    # An email address or a secret reference ("secret:name", "env:NAME"), never a secret.
    address: Mapped[str] = mapped_column(String(254))
    # Rate-limit key from Channel.endpoint (e.g. a hash of the robot key); filled on the
    # first dispatch, because only the channel can compute it.
    endpoint: Mapped[str | None] = mapped_column(String(128))
    state: Mapped[str] = mapped_column(String(16), default="queued")
    # Sends that ended in an error, plus leases that expired (a worker died mid-send), so a
    # message that kills its worker cannot be retried for ever.
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None]
    # Already redacted by the channel (DeliveryError.detail is secret-free by contract).
    last_error: Mapped[str | None] = mapped_column(String(1000))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
    parts: Mapped[int] = mapped_column(default=0)  # messages actually sent (robots split)
    # The person this delivery reaches on a personal channel (None: a group address). No
    # FK: a roster reload replaces contact rows, and the delivery's history stays.
    contact_id: Mapped[int | None]
    # Position of the channel in the campaign's delivery preference: a dead delivery falls
    # back to the person's next usable channel of a higher rank.
    rank: Mapped[int | None]


class EndpointSlotRow(Base):
    """A sliding one-minute window per endpoint, shared by every worker through the database:
    ``limit`` slots, each holding the time of one granted send. A send takes the slot whose
    send is oldest, and only once that send is a full minute old."""

    __tablename__ = "endpoint_slot"

    endpoint: Mapped[str] = mapped_column(String(128), primary_key=True)
    slot: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    used_at: Mapped[datetime]


def count_by_state(
    session: Session, state: Any, where: tuple[Any, ...], states: tuple[str, ...]
) -> dict[str, int]:
    """{state: n} over the rows ``where`` selects: every state of ``states``, in that order,
    then any other state found. SQLite groups along its (campaign_id, state) index. On
    PostgreSQL one pass counts each state: the statistics of an outbox a tick has just
    filled still describe it as empty, and grouping then sorted every row on disk."""
    if session.get_bind().dialect.name == "postgresql":
        known = [func.count().filter(state == s) for s in states]
        *counts, rest = session.execute(
            select(*known, func.count().filter(state.not_in(states))).where(*where)
        ).one()
        if not rest:
            return {s: int(n) for s, n in zip(states, counts, strict=True)}
    out = {s: 0 for s in states}
    for s, n in session.execute(select(state, func.count()).where(*where).group_by(state)):
        out[s] = out.get(s, 0) + int(n)
    return out


def delivery_counts(session: Session, campaign_id: int) -> dict[str, int]:
    """{state: n} over the campaign's deliveries, every state present (for status reports)."""
    return count_by_state(
        session, DeliveryRow.state, (DeliveryRow.campaign_id == campaign_id,), DELIVERY_STATES
    )

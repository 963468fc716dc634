"""The notification outbox: one row per planned message, deduplicated by the database.

What a message is about is unique, so a repeated or concurrent run plans nothing twice:
(obligation, kind, level) for the per-item kinds the tick plans by the hundred thousand
(reminders, escalations), and the text ``dedupe_key`` for every row without an obligation
(digests, awards, bulletins, alerts, sign-off, receipts). Per-item rows store no text key:
the key the channels pass on (an idempotency key for receivers) is derived from the item's
columns where it is read (message_key), so a tick's million-row INSERT writes and indexes
narrow integer rows (integer keys inserted in obligation order append to their index, where
text keys land all over it).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, Date, Index, String, Text, case, cast, func, text
from sqlalchemy.orm import Mapped, mapped_column

from pingan.adapters.db.base import Base, table, utcnow

NOTIFICATION_STATES = ("queued", "leased", "sent", "failed", "dead", "cancelled")
# The rows the text dedupe key's unique index covers; a lookup by key names it too, so the
# partial index serves it. The recipient index covers the same rows: per-item rows are found
# by their obligation (whose unit is their recipient), never by recipient.
TEXT_KEYED = "obligation_id IS NULL"
# The letter a per-item key gives its kind: campaign:r|e:obligation:level.
ITEM_KINDS = {"reminder": "r", "escalation": "e"}


class NotificationRow(Base):
    __tablename__ = "notification"
    __table_args__ = (
        Index("ix_notification_campaign_state", "campaign_id", "state", "next_attempt_at"),
        Index("uq_notification_item", "obligation_id", "kind", "level", unique=True),
        Index(
            "uq_notification_dedupe_key",
            "dedupe_key",
            unique=True,
            sqlite_where=text(TEXT_KEYED),
            postgresql_where=text(TEXT_KEYED),
        ),
        Index(
            "ix_notification_recipient_unit_id",
            "recipient_unit_id",
            sqlite_where=text(TEXT_KEYED),
            postgresql_where=text(TEXT_KEYED),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # No foreign key: on PostgreSQL it is a trigger call per planned row (2 s of a 5 s
    # escalation INSERT at 100k cells). Every writer takes the id of a campaign it has
    # opened in the same transaction (the planner also locks the row against deletion, as
    # the key did), and deleting a campaign still deletes its rows: a trigger on campaign
    # does (migration 0013), and their deliveries go with them.
    campaign_id: Mapped[int]
    # What a message without an obligation is about, e.g. (award) or (recipient, day), as
    # text (the scheme is pingan.adapters.db.planner.rows); unique where TEXT_KEYED. NULL on
    # per-item rows, whose key message_key derives.
    dedupe_key: Mapped[str | None] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))  # reminder, escalation, digest, award, bulletin
    level: Mapped[int] = mapped_column(default=0)
    # No foreign keys on the recipient and the obligation: every writer selects them from
    # unit and obligation in the same statement, and on PostgreSQL each FK costs a trigger
    # call per row when a tick plans a million messages. Rows go with their campaign. A
    # per-item row's recipient is its obligation's unit.
    recipient_unit_id: Mapped[int]
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
    sent_at: Mapped[datetime | None]


def message_key(n: Any = None) -> ColumnElement[str]:
    """SQL: the key a message goes by (passed to the channels as an idempotency key), for
    ``n`` the columns of notification or of an alias of it: the stored text key, or for a
    per-item row ``campaign:r|e:obligation:level``, as the planner stored it until
    migration 0015."""
    c = table(NotificationRow).c if n is None else n
    letter = case(*((c.kind == kind, letter) for kind, letter in ITEM_KINDS.items()))
    derived = (
        cast(c.campaign_id, String)
        + ":"
        + letter
        + ":"
        + cast(c.obligation_id, String)
        + ":"
        + cast(c.level, String)
    )
    return func.coalesce(c.dedupe_key, derived)

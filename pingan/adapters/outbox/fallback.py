"""Fallback: a delivery that died on a person's channel is followed by one on that person's
next usable channel (a higher rank in the campaign's preference), set-based.

A person who has a delivery in any other state for the same notification — queued, being
sent, failed and waiting for a retry, sent, or cancelled — gets nothing more: a message that
reached the person on any channel is never repeated. The unique key (notification, channel,
address) keeps concurrent dispatchers from inserting the same fallback twice.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime

from sqlalchemy import String, and_, cast, exists, select
from sqlalchemy.orm import Session

from pingan.adapters.db.bulk import insert_or_ignore
from pingan.adapters.outbox.addressing import CC, CT, Ladder
from pingan.adapters.outbox.expansion import COLUMNS, common_values
from pingan.adapters.outbox.tables import DC, D
from pingan.core.campaign.model import DEFAULT_PREFERENCE


def fall_back(
    session: Session,
    campaign_id: int,
    now: datetime,
    *,
    channels: Collection[str] | None = None,
    preference: Sequence[str] = DEFAULT_PREFERENCE,
) -> list[int]:
    """Insert the next-channel delivery of every person whose deliveries of a notification
    are all dead; the notifications that got one (to roll up). Runs in the caller's
    transaction."""
    ladder = Ladder.of(preference, channels)
    if not ladder.ranked:
        return []
    other = D.alias("other")
    dead = and_(
        DC.campaign_id == campaign_id,
        DC.state == "dead",
        DC.contact_id.is_not(None),
        DC.rank.is_not(None),
        ~exists().where(
            other.c.notification_id == DC.notification_id,
            other.c.contact_id == DC.contact_id,
            other.c.state != "dead",
        ),
    )
    ranked = (
        select(
            DC.notification_id.label("nid"),
            DC.campaign_id.label("cid"),
            DC.contact_id,
            ladder.first_rank(after=DC.rank).label("rank"),
            *ladder.address_columns(),
        )
        .select_from(D.join(CT, CC.id == DC.contact_id))
        .where(dead)
        .subquery()
    )
    source = select(
        ranked.c.nid,
        ranked.c.cid,
        cast(ladder.channel_of(ranked.c.rank), String(16)),
        ladder.address_of(ranked.c.rank, ranked),
        ranked.c.contact_id,
        ranked.c.rank,
        *common_values(now),
    ).where(ranked.c.rank.is_not(None))
    stmt = (
        insert_or_ignore(session, D)
        .from_select(COLUMNS, source)
        .on_conflict_do_nothing(index_elements=["notification_id", "channel", "address"])
        .returning(D.c.notification_id)
    )
    return sorted(set(session.scalars(stmt)))

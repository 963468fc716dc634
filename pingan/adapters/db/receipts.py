"""Read receipts (签收) per unit: whether each unit's latest reminder or escalation that was
sent has been seen — its personal link opened at or after the sending — as one grouped
query, whatever the number of units."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session

from pingan.adapters.db.links import LinkViewRow
from pingan.adapters.db.notifications import NotificationRow
from pingan.adapters.db.units import UnitRow

UNSEEN_LISTED = 50  # units named in the report; the counts cover them all


def _latest_sent(campaign_id: int) -> Any:
    return (
        select(
            NotificationRow.recipient_unit_id.label("unit_id"),
            func.max(NotificationRow.sent_at).label("sent_at"),
        )
        .where(
            NotificationRow.campaign_id == campaign_id,
            NotificationRow.kind.in_(("reminder", "escalation")),
            NotificationRow.state == "sent",
            NotificationRow.sent_at.is_not(None),
        )
        .group_by(NotificationRow.recipient_unit_id)
        .subquery()
    )


def receipts(session: Session, campaign_id: int) -> dict[str, Any]:
    """``told``: active units sent a reminder or escalation; ``seen`` / ``unseen``: of
    those, whether the latest was seen; ``unseen_units``: the first UNSEEN_LISTED unseen
    units by code, each with when its latest message was sent (UTC).

    One statement: the counts are window totals over every told unit, computed before the
    unseen units are sorted first and cut to the list, so the latest sendings are
    aggregated once (two statements did it twice)."""
    latest = _latest_sent(campaign_id)
    # sent_at is never NULL here, so a unit is either seen or unseen.
    seen = and_(LinkViewRow.last_at.is_not(None), LinkViewRow.last_at >= latest.c.sent_at)
    is_seen = case((seen, 1), else_=0)
    rows = session.execute(
        select(
            UnitRow.code,
            UnitRow.name,
            latest.c.sent_at,
            is_seen.label("seen"),
            func.count().over().label("told"),
            func.sum(is_seen).over().label("seen_n"),
        )
        .join(latest, latest.c.unit_id == UnitRow.id)
        .outerjoin(LinkViewRow, LinkViewRow.unit_id == UnitRow.id)
        .where(UnitRow.status == "active")
        .order_by(is_seen, UnitRow.code)
        .limit(UNSEEN_LISTED)
    ).all()
    told = int(rows[0].told) if rows else 0
    seen_n = int(rows[0].seen_n) if rows else 0
    return {
        "told": told,
        "seen": seen_n,
        "unseen": told - seen_n,
        "unseen_units": [
            {"code": r.code, "name": r.name, "sent_at": f"{r.sent_at:%Y-%m-%dT%H:%M:%S}Z"}
            for r in rows
            if not r.seen
        ],
    }

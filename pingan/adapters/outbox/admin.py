"""Operator views and actions: list deliveries, count them, re-queue the dead."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, and_, exists, literal, or_, select, update
from sqlalchemy.orm import Session

from pingan.adapters.db.base import utcnow
from pingan.adapters.db.bulk import rowcount
from pingan.adapters.db.deliveries import DELIVERY_STATES, delivery_counts
from pingan.adapters.db.notifications import message_key
from pingan.adapters.db.units import UnitRow
from pingan.adapters.outbox.rollup import rollup_notifications
from pingan.adapters.outbox.tables import DC, NC, D, N
from pingan.core.problems import InputError, Problem


@dataclass(frozen=True)
class OutboxEntry:
    delivery_id: int | None  # None: a notification that never got a delivery (no contact)
    notification_id: int
    dedupe_key: str
    kind: str
    recipient_code: str
    recipient_name: str
    channel: str | None
    address: str | None
    state: str
    attempts: int
    next_attempt_at: datetime | None
    last_error: str | None
    sent_at: datetime | None


def _check_state(state: str | None) -> None:
    if state is not None and state not in DELIVERY_STATES:
        raise InputError(
            [Problem("参数", "--state", f"未知状态 {state}（可选：{'、'.join(DELIVERY_STATES)}）")]
        )


def list_outbox(
    engine: Engine, campaign_id: int, state: str | None = None, limit: int = 100
) -> list[OutboxEntry]:
    """Deliveries (and notifications that have none), oldest first, optionally one state."""
    _check_state(state)
    with engine.connect() as conn:
        q = (
            select(
                DC.id,
                NC.id,
                message_key().label("dedupe_key"),
                NC.kind,
                UnitRow.code,
                UnitRow.name,
                DC.channel,
                DC.address,
                DC.state,
                DC.attempts,
                DC.next_attempt_at,
                DC.last_error,
                DC.sent_at,
            )
            .select_from(D.join(N, NC.id == DC.notification_id))
            .join(UnitRow, UnitRow.id == NC.recipient_unit_id)
            .where(DC.campaign_id == campaign_id)
            .order_by(DC.id)
            .limit(limit)
        )
        if state is not None:
            q = q.where(DC.state == state)
        rows = [OutboxEntry(*r) for r in conn.execute(q)]
        rows += _orphans(conn, campaign_id, state, limit)
    rows.sort(key=lambda e: (e.notification_id, e.delivery_id or 0))
    return rows[:limit]


def _orphans(
    conn: Connection, campaign_id: int, state: str | None, limit: int
) -> list[OutboxEntry]:
    """Notifications that never got a delivery, as entries without one."""
    orphans = (
        select(
            literal(None),
            NC.id,
            message_key().label("dedupe_key"),
            NC.kind,
            UnitRow.code,
            UnitRow.name,
            literal(None),
            literal(None),
            NC.state,
            NC.attempts,
            NC.next_attempt_at,
            NC.last_error,
            NC.sent_at,
        )
        .join(UnitRow, UnitRow.id == NC.recipient_unit_id)
        .where(NC.campaign_id == campaign_id, ~exists().where(DC.notification_id == NC.id))
        .order_by(NC.id)
        .limit(limit)
    )
    if state is not None:
        orphans = orphans.where(NC.state == state)
    return [OutboxEntry(*r) for r in conn.execute(orphans)]


def outbox_counts(engine: Engine, campaign_id: int) -> dict[str, int]:
    """Deliveries per state, every state present."""
    with Session(engine) as session:
        return delivery_counts(session, campaign_id)


@dataclass
class RetryResult:
    deliveries: int = 0
    notifications: int = 0  # notifications without deliveries sent back to expansion
    # ids not dead/failed (or unknown), or whose person another channel already reached
    not_found: list[int] = field(default_factory=list)


def _requeue(now: datetime) -> dict[str, Any]:
    return {
        "state": "queued",
        "attempts": 0,
        "next_attempt_at": now,
        "lease_owner": None,
        "lease_until": None,
    }


def _requeue_deliveries(
    conn: Connection, ids: Sequence[int], dead: bool, campaign_id: int | None, now: datetime
) -> list[tuple[int, int]]:
    """(delivery id, notification id) of every delivery put back in the queue."""
    conds: list[Any] = []
    if ids:
        conds.append(and_(DC.id.in_(list(ids)), DC.state.in_(("dead", "failed"))))
    if dead:
        conds.append(DC.state == "dead")
    if not conds:
        return []
    # A person already reached (or being reached) on another channel is not sent it again.
    other = D.alias("other")
    reached = exists().where(
        other.c.notification_id == DC.notification_id,
        other.c.contact_id == DC.contact_id,
        other.c.id != DC.id,
        other.c.state != "dead",
    )
    where = and_(or_(*conds), ~reached)
    if campaign_id is not None:
        where = and_(where, DC.campaign_id == campaign_id)
    stmt = update(D).where(where).values(**_requeue(now)).returning(DC.id, DC.notification_id)
    return [(int(i), int(n)) for i, n in conn.execute(stmt)]


def retry(
    engine: Engine,
    ids: Sequence[int] = (),
    *,
    dead: bool = False,
    campaign_id: int | None = None,
    now: datetime | None = None,
) -> RetryResult:
    """Re-queue deliveries by id (dead or failed ones; failed ones become due now), or with
    ``dead=True`` every dead delivery — and every notification that died for want of a
    contact, so the next dispatch looks at the unit's contacts again. Attempts restart at
    0; the last error is kept for the record. ``campaign_id`` narrows ``dead=True``."""
    now = now or utcnow()
    result = RetryResult()
    with engine.begin() as conn:
        touched = _requeue_deliveries(conn, ids, dead, campaign_id, now)
        result.deliveries = len(touched)
        result.not_found = sorted(set(ids) - {i for i, _ in touched})
        if dead:
            where = and_(NC.state == "dead", ~exists().where(DC.notification_id == NC.id))
            if campaign_id is not None:
                where = and_(where, NC.campaign_id == campaign_id)
            res = conn.execute(
                update(N).where(where).values(**_requeue(now)),
                execution_options={"preserve_rowcount": True},
            )
            result.notifications = rowcount(res)
        nids = sorted({n for _, n in touched})
        for i in range(0, len(nids), 1000):
            rollup_notifications(conn, nids[i : i + 1000])
    return result

"""Claiming and leasing: due deliveries are leased to one dispatcher (FOR UPDATE SKIP LOCKED
on PostgreSQL; SQLite serialises writers), so two dispatchers never hold the same row; a dead
worker's lease runs out and its rows come back. A leased row's outcome is written only by
the lease's owner."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, and_, select, update

from pingan.adapters.outbox.tables import DC, D, among

LEASE_EXPIRED = "上次发送未完成（进程中断或租约超时）"


@dataclass(frozen=True)
class Claimed:
    id: int
    notification_id: int
    channel: str
    address: str
    endpoint: str | None
    attempts: int
    lease_until: datetime
    contact_id: int | None = None  # the person reached (None: a group address)


def default_owner() -> str:
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _claim_one(
    conn: Connection,
    campaign_id: int,
    owner: str,
    limit: int,
    lease_until: datetime,
    due: Any,
    *,
    expired: bool,
) -> list[Claimed]:
    # The index (campaign_id, state, next_attempt_at) serves each kind of due row in order,
    # which one statement over all three states could not.
    ids = (
        select(DC.id)
        .where(DC.campaign_id == campaign_id, due)
        .order_by(DC.next_attempt_at)
        .limit(limit)
        .with_for_update(skip_locked=True)  # rendered on PostgreSQL only
    )
    values: dict[str, Any] = {"state": "leased", "lease_owner": owner, "lease_until": lease_until}
    if expired:
        # A lease that ran out means a send began and never finished: count it, so a
        # message that kills its worker cannot be retried for ever.
        values["attempts"] = DC.attempts + 1
        values["last_error"] = LEASE_EXPIRED
    stmt = (
        update(D)
        .where(DC.id.in_(ids))
        .values(**values)
        .returning(
            DC.id,
            DC.notification_id,
            DC.channel,
            DC.address,
            DC.endpoint,
            DC.attempts,
            DC.lease_until,
            DC.contact_id,
        )
    )
    return [Claimed(*r) for r in conn.execute(stmt)]


def claim_on(
    conn: Connection, campaign_id: int, owner: str, now: datetime, limit: int, lease_s: float
) -> list[Claimed]:
    """Expired leases first (a dead worker's rows), then due retries, then fresh rows."""
    lease_until = now + timedelta(seconds=lease_s)
    if conn.dialect.name == "postgresql":
        return _claim_pg(conn, campaign_id, owner, now, limit, lease_until)
    got: list[Claimed] = []
    for due, expired in (
        (and_(DC.state == "leased", DC.lease_until < now), True),
        (and_(DC.state == "failed", DC.next_attempt_at <= now), False),
        (and_(DC.state == "queued", DC.next_attempt_at <= now), False),
    ):
        if len(got) >= limit:
            break
        got += _claim_one(
            conn, campaign_id, owner, limit - len(got), lease_until, due, expired=expired
        )
    return got


def _due_pg(state: str, due: str) -> str:
    return (
        f"SELECT id FROM delivery WHERE campaign_id = %(campaign)s AND state = '{state}' "
        f"AND {due} ORDER BY next_attempt_at LIMIT %(limit)s FOR UPDATE SKIP LOCKED"
    )


# The three kinds of due row in one round trip: each CTE is read only as far as the LIMIT
# over their union needs, so a kind is locked only when the ones before it fall short.
_CLAIM_PG = f"""
WITH expired AS ({_due_pg("leased", "lease_until < %(now)s")}),
failed AS ({_due_pg("failed", "next_attempt_at <= %(now)s")}),
fresh AS ({_due_pg("queued", "next_attempt_at <= %(now)s")}),
picked AS (
    SELECT id, expired, row_number() OVER () AS pos FROM (
        SELECT id, 1 AS expired FROM expired
        UNION ALL SELECT id, 0 FROM failed
        UNION ALL SELECT id, 0 FROM fresh
        LIMIT %(limit)s
    ) AS due
)
UPDATE delivery AS d SET state = 'leased', lease_owner = %(owner)s, lease_until = %(until)s,
    attempts = d.attempts + picked.expired,
    last_error = CASE WHEN picked.expired = 1 THEN %(expired_error)s ELSE d.last_error END
FROM picked WHERE d.id = picked.id
RETURNING d.id, d.notification_id, d.channel, d.address, d.endpoint, d.attempts,
    d.lease_until, d.contact_id, picked.pos
"""


def _claim_pg(
    conn: Connection,
    campaign_id: int,
    owner: str,
    now: datetime,
    limit: int,
    lease_until: datetime,
) -> list[Claimed]:
    """``claim_on`` in one statement (see _CLAIM_PG); rows in the order they were picked."""
    rows = conn.exec_driver_sql(
        _CLAIM_PG,
        {
            "campaign": campaign_id,
            "now": now,
            "limit": limit,
            "owner": owner,
            "until": lease_until,
            "expired_error": LEASE_EXPIRED,
        },
    ).all()
    return [Claimed(*r[:-1]) for r in sorted(rows, key=lambda r: r[-1])]


def claim(
    engine: Engine,
    campaign_id: int,
    owner: str,
    now: datetime,
    limit: int,
    lease_s: float,
) -> list[Claimed]:
    """Atomically lease up to ``limit`` due deliveries for ``owner`` until now + lease_s."""
    with engine.begin() as conn:
        return claim_on(conn, campaign_id, owner, now, limit, lease_s)


def renew(conn: Connection, ids: Sequence[int], owner: str, until: datetime) -> set[int]:
    """Extend ``owner``'s leases on ``ids``; the ids it still holds."""
    return set(
        conn.scalars(
            update(D)
            .where(among(conn, DC.id, ids), DC.state == "leased", DC.lease_owner == owner)
            .values(lease_until=until)
            .returning(DC.id)
        )
    )

"""Rate limits: a sliding one-minute window per endpoint, shared by every worker through the
database (a robot key accepts 20 messages a minute, whoever sends them, and blocks for ten
minutes when a minute holds more).

The window is ``limit`` slots per endpoint (table ``endpoint_slot``), each holding the time
of one granted send. A send takes the slot whose send is oldest, by compare-and-set on that
time, and only once it is a full minute old. Every slot's sends are thus at least a minute
apart, so no 60-second span holds more than ``limit`` sends. Each statement stands alone,
so it works in autocommit mode; a worker that loses a race reads again.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Row, select, update

from pingan.adapters.db.base import table
from pingan.adapters.db.bulk import insert_or_ignore
from pingan.adapters.db.deliveries import EndpointSlotRow

ST = table(EndpointSlotRow)
RATE_WINDOW_S = 60
WINDOW = timedelta(seconds=RATE_WINDOW_S)


def take_slot(
    conn: Connection,
    endpoint: str,
    limit: int,
    now: datetime,
    need: int = 1,
    window: timedelta = WINDOW,
) -> tuple[bool, datetime]:
    """``need`` sends (a message's parts) on ``endpoint`` within its shared sliding window:
    (granted, reopens_at). ``reopens_at`` is when enough sends leave the window (``now`` if
    granted). Slots taken before a lost race stay taken: wasted, never one too many.
    ``window``: a minute unless a channel keeps longer limits (an SMS hour or day), each
    under its own ``endpoint`` key."""
    need = max(1, min(need, limit))
    for _ in range(limit + 2):  # each lost race means another worker was granted a slot
        used = conn.execute(
            select(ST.c.slot, ST.c.used_at)
            .where(ST.c.endpoint == endpoint, ST.c.slot < limit)
            .order_by(ST.c.used_at, ST.c.slot)
        ).all()
        taken = {row.slot for row in used}
        missing = [s for s in range(limit) if s not in taken]
        stale = [row for row in used if row.used_at <= now - window]
        if len(missing) + len(stale) < need:
            return False, used[need - len(missing) - 1].used_at + window
        for slot in missing[:need]:
            need -= _insert_slot(conn, endpoint, slot, now)
        for row in stale[: max(need, 0)]:
            need -= _swap_slot(conn, endpoint, row, now)
        if need <= 0:
            return True, now
    # Contention beyond reason: wait a moment rather than risk the robot's block.
    return False, now + timedelta(seconds=1)


def _insert_slot(conn: Connection, endpoint: str, slot: int, now: datetime) -> int:
    stmt = insert_or_ignore(conn, ST).values(endpoint=endpoint, slot=slot, used_at=now)
    # RETURNING rather than rowcount: psycopg may report -1 for an INSERT.
    return int(conn.execute(stmt.on_conflict_do_nothing().returning(ST.c.slot)).first() is not None)


def _swap_slot(conn: Connection, endpoint: str, row: Row[Any, Any], now: datetime) -> int:
    """Compare-and-set on the slot's time: 0 when another worker took it first."""
    swapped = conn.execute(
        update(ST)
        .where(ST.c.endpoint == endpoint, ST.c.slot == row.slot, ST.c.used_at == row.used_at)
        .values(used_at=now)
        .returning(ST.c.slot)
    ).first()
    return int(swapped is not None)

"""Claiming and leasing: due deliveries are leased to one dispatcher (FOR UPDATE SKIP LOCKED
on PostgreSQL; SQLite serialises writers), so two dispatchers never hold the same row; a dead
worker's lease runs out and its rows come back. A leased row's outcome is written only by
the lease's owner."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
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


@lru_cache(maxsize=32)
def _mark_sql(keys: tuple[str, ...], placeholder: str) -> str:
    sets = ", ".join(f"{k} = {placeholder}" for k in keys)
    return (
        f"UPDATE delivery SET {sets} WHERE id = {placeholder} AND state = 'leased' "
        f"AND lease_owner = {placeholder}"
    )


def _sqlite_value(value: Any) -> Any:
    """As SQLAlchemy's SQLite DateTime stores it, so comparisons with its rows hold."""
    return value.strftime("%Y-%m-%d %H:%M:%S.%f") if isinstance(value, datetime) else value


_PENDING = "pingan_outbox_pending_mark"  # Connection.info key: the mark sent, unread
_PREPARED = "pingan_outbox_marks"  # DBAPI connection info key: prepared marks by columns


def _numbered(sql: str) -> str:
    """%s placeholders as libpq's $1, $2, …"""
    parts = sql.split("%s")
    return "".join(p + (f"${i + 1}" if i + 1 < len(parts) else "") for i, p in enumerate(parts))


def _pg_text(value: Any) -> bytes | None:
    """A parameter in PostgreSQL's text format (the server infers each type from its column)."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.isoformat(" ").encode()
    return str(value).encode()


def mark(
    conn: Connection,
    row_id: int,
    owner: str,
    values: Mapping[str, Any],
    settled: Callable[[bool], None],
) -> None:
    """Write a leased row's outcome, unless another worker took it over meanwhile;
    ``settled`` is told whether it was written.

    ``conn`` is in autocommit mode: the UPDATE is its own transaction, one round trip.
    It runs once per message between two sends, so it goes straight to the driver (as
    pingan.adapters.db.bulk does): SQLAlchemy's per-execution work cost as much as the UPDATE.

    On PostgreSQL the mark is pipelined: the UPDATE is on the wire when this returns, and its
    result is read at the connection's next use (finish_mark), so the next send overlaps the
    mark's round trip. The server carries out a statement it has received even if the worker
    is killed, so a kill still repeats at most the one message in flight.
    """
    finish_mark(conn)
    keys = tuple(sorted(values))
    raw: Any = conn.connection.driver_connection
    if conn.dialect.name != "postgresql":
        params = [_sqlite_value(values[k]) for k in keys]
        cur = raw.cursor()
        try:
            cur.execute(_mark_sql(keys, "?"), [*params, row_id, owner])
            settled(int(cur.rowcount) == 1)
        finally:
            cur.close()
        return
    from psycopg.generators import send

    params = [_pg_text(values[k]) for k in keys] + [str(row_id).encode(), owner.encode()]
    raw.pgconn.send_query_prepared(_prepared(conn, raw, keys), params)
    raw.wait(send(raw.pgconn))
    conn.info[_PENDING] = settled


def _prepared(conn: Connection, raw: Any, keys: tuple[str, ...]) -> bytes:
    """The name of the mark's prepared statement for these columns on this connection,
    prepared now if it is the first: the server then plans a mark once, not per message.
    The registry lives in the pooled connection's ``info``, which a reconnect clears."""
    names: dict[tuple[str, ...], bytes] = conn.connection.info.setdefault(_PREPARED, {})
    name = names.get(keys)
    if name is None:
        import psycopg

        name = f"pingan_mark_{len(names)}".encode()
        res = raw.pgconn.prepare(name, _numbered(_mark_sql(keys, "%s")).encode())
        if res.status != psycopg.pq.ExecStatus.COMMAND_OK:
            message = (res.error_message or b"").decode(errors="replace")
            raise psycopg.OperationalError(f"preparing a delivery mark failed: {message}")
        names[keys] = name
    return name


def finish_mark(conn: Connection) -> None:
    """Read the result of the mark still in flight on ``conn``, if any; before anything else
    uses the connection."""
    settled = conn.info.pop(_PENDING, None)
    if settled is None:
        return
    import psycopg
    from psycopg.generators import fetch_many

    raw: Any = conn.connection.driver_connection
    results = raw.wait(fetch_many(raw.pgconn))
    for res in results:
        if res.status != psycopg.pq.ExecStatus.COMMAND_OK:
            message = (res.error_message or b"").decode(errors="replace")
            raise psycopg.OperationalError(f"marking a delivery failed: {message}")
    settled(int(results[-1].command_tuples or 0) == 1)


def fast_commits(conn: Connection, on: bool) -> None:
    """On PostgreSQL, commit marks without waiting for the WAL flush.

    Each send is marked in its own commit (that is what bounds duplicates after a kill),
    and an fsync per message would cost more than the send. Safe: a killed *worker* loses
    nothing (the server has the commit); only a crash of the database server itself can
    lose the last fraction of a second of marks, and that re-sends — never loses — them.
    """
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"SET synchronous_commit TO {'OFF' if on else 'DEFAULT'}")

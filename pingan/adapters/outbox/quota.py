"""Rate limits: a fixed one-minute window per endpoint, shared by every worker through the
database (a robot key accepts 20 messages a minute, whoever sends them)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Connection, case

from pingan.adapters.db.base import table
from pingan.adapters.db.bulk import insert_or_ignore
from pingan.adapters.db.deliveries import EndpointRateRow

RT = table(EndpointRateRow)
RATE_WINDOW_S = 60


def take_slot(conn: Connection, endpoint: str, limit: int, now: datetime) -> tuple[bool, datetime]:
    """One send on ``endpoint`` within its shared one-minute window: (granted, reopens_at).

    A single upsert, so it is atomic in autocommit mode too, and PostgreSQL's row lock makes
    concurrent workers take turns. ``used`` counts requests, refused ones included: once it
    passes ``limit`` the window is full until it is older than a minute and starts afresh.
    """
    stale = RT.c.window_start <= now - timedelta(seconds=RATE_WINDOW_S)
    stmt = (
        insert_or_ignore(conn, RT)
        .values(endpoint=endpoint, window_start=now, used=1)
        .on_conflict_do_update(
            index_elements=["endpoint"],
            set_={
                "window_start": case((stale, now), else_=RT.c.window_start),
                "used": case((stale, 1), else_=RT.c.used + 1),
            },
        )
        .returning(RT.c.window_start, RT.c.used)
    )
    start, used = conn.execute(stmt).one()
    return int(used) <= limit, start + timedelta(seconds=RATE_WINDOW_S)

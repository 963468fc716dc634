"""Bulk inserts at the speed each backend allows: COPY on PostgreSQL, executemany on SQLite.

Rows are plain dicts keyed by column name; every row must have the same keys.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session


def bulk_insert(session: Session, table: Table, rows: Sequence[Mapping[str, Any]]) -> int:
    if not rows:
        return 0
    conn = session.connection()
    columns = list(rows[0].keys())
    raw: Any = conn.connection.driver_connection
    if conn.dialect.name == "sqlite":
        # SQLAlchemy's per-row parameter processing costs more than SQLite's insert itself.
        sql = (
            f'INSERT INTO "{table.name}" ({", ".join(columns)}) '
            f"VALUES ({', '.join('?' * len(columns))})"
        )
        first = rows[0]
        temporal = [c for c in columns if isinstance(first[c], date)]
        if temporal:
            # Rows of one load share their timestamps, so each distinct value is formatted once.
            cache: dict[Any, Any] = {}

            def fmt(v: Any) -> Any:
                if v not in cache:
                    cache[v] = _sqlite(v)
                return cache[v]

            params: Any = (
                [fmt(row[c]) if c in temporal else row[c] for c in columns] for row in rows
            )
        else:
            params = ([row[c] for c in columns] for row in rows)
        cur = raw.cursor()
        cur.executemany(sql, params)
        cur.close()
        return len(rows)
    if conn.dialect.name != "postgresql":
        conn.execute(table.insert(), list(rows))
        return len(rows)
    names = ", ".join(f'"{c}"' for c in columns)
    # COPY goes through the same connection, so it is part of the session's transaction.
    with raw.cursor() as cur, cur.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy:
        for row in rows:
            copy.write_row([row[c] for c in columns])
    return len(rows)


def _sqlite(value: Any) -> Any:
    """Store values exactly as SQLAlchemy's SQLite types do, so ORM reads round-trip."""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, date):
        return value.isoformat()
    return value


def insert_or_ignore(bind: Connection | Session, tbl: Any) -> Any:
    """An INSERT that accepts ``.on_conflict_do_nothing()`` on SQLite and PostgreSQL alike."""
    name = bind.get_bind().dialect.name if isinstance(bind, Session) else bind.dialect.name
    return (postgresql.insert if name == "postgresql" else sqlite.insert)(tbl)


def rowcount(result: Any) -> int:
    """Rows a statement touched; execute it with ``preserve_rowcount`` — psycopg reports -1
    for INSERT … SELECT otherwise — and read -1/None as 0."""
    return max(int(getattr(result, "rowcount", 0) or 0), 0)

"""Marking a sent delivery: each mark its own transaction, on the wire before the next send.

That is what bounds duplicates: a killed worker repeats at most the one message it had in
flight. A mark runs once per message between two sends, so it goes straight to the driver
(as pingan.adapters.db.bulk does): SQLAlchemy's per-execution work cost as much as the
UPDATE. The connection is in autocommit mode.

On SQLite a mark is one UPDATE, committed before ``mark`` returns.

On PostgreSQL marks are pipelined (libpq's pipeline mode): each mark is a prepared UPDATE
followed by a Sync, which commits it on its own, and is flushed to the server before
``mark`` returns. Their results are read together by ``finish_mark``, at the end of a
batch or before anything else uses the connection, so no send waits for a mark's answer
and no mark costs a read of its own. The server carries out and commits every statement and
Sync it has received even if the worker is killed, so the bound holds.
"""

from __future__ import annotations

import select
import zlib
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection

_PENDING = "pingan_outbox_pending_marks"  # Connection.info key: marks sent, results unread
_PREPARED = "pingan_outbox_marks"  # DBAPI connection info key: prepared marks by columns
_ALREADY_PREPARED = b"42P05"  # duplicate_prepared_statement


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


def _numbered(sql: str) -> str:
    """%s placeholders as libpq's $1, $2, …"""
    parts = sql.split("%s")
    return "".join(p + (f"${i + 1}" if i + 1 < len(parts) else "") for i, p in enumerate(parts))


def _pg_text(value: Any) -> bytes | None:
    """A parameter in PostgreSQL's text format (the server infers each type from its column);
    the column types a mark writes are tried first, in the order of their frequency."""
    kind = type(value)
    if kind is str:
        return str.encode(value)
    if value is None:
        return None
    if kind is int:
        return b"%d" % int(value)
    if isinstance(value, datetime):
        return value.isoformat(" ").encode()
    return str(value).encode()


class Marker:
    """The marks written on ``conn`` (autocommit) for ``owner``, with what every mark needs
    looked up once: a batch writes a hundred of them, one between every two sends, and what
    runs there slows the next send's own code beyond its own time."""

    def __init__(self, conn: Connection, owner: str) -> None:
        self._conn = conn
        self._owner = owner
        self._raw: Any = conn.connection.driver_connection
        self._postgresql = conn.dialect.name == "postgresql"
        self._owner_pg = owner.encode()
        self._info = conn.info  # the pooled connection's: ``finish_mark`` reads it too
        # The prepared marks of this session, by columns (see ``_prepared``).
        self._names: dict[tuple[str, ...], bytes] = conn.connection.info.setdefault(_PREPARED, {})

    def mark(
        self,
        row_id: int,
        keys: tuple[str, ...],
        values: Sequence[Any],
        settled: Callable[[bool], None],
    ) -> None:
        """As the module's ``mark``, the columns ``keys`` (in the order of their names)
        set to ``values``."""
        if not self._postgresql:
            params = [_sqlite_value(v) for v in values]
            cur = self._raw.cursor()
            try:
                cur.execute(_mark_sql(keys, "?"), [*params, row_id, self._owner])
                settled(int(cur.rowcount) == 1)
            finally:
                cur.close()
            return
        params = [_pg_text(v) for v in values]
        params.append(b"%d" % row_id)
        params.append(self._owner_pg)
        name = self._names.get(keys) or _prepared(self._conn, self._raw, keys)
        pg = self._raw.pgconn
        pending: list[Callable[[bool], None]] | None = self._info.get(_PENDING)
        if pending is None:
            pg.enter_pipeline_mode()
            pending = self._info[_PENDING] = []
        pending.append(settled)
        pg.send_query_prepared(name, params)
        pg.pipeline_sync()
        if pg.flush():  # 0: all on the wire; else the socket is full and the rest must wait
            from psycopg.generators import send

            self._raw.wait(send(pg))


def mark(
    conn: Connection,
    row_id: int,
    owner: str,
    values: Mapping[str, Any],
    settled: Callable[[bool], None],
) -> None:
    """Write a leased row's outcome, unless another worker took it over meanwhile;
    ``settled`` is told whether it was written (on PostgreSQL once ``finish_mark`` has
    read the result). A batch's marks go through one ``Marker``."""
    keys = tuple(sorted(values))
    Marker(conn, owner).mark(row_id, keys, [values[k] for k in keys], settled)


def _prepared(conn: Connection, raw: Any, keys: tuple[str, ...]) -> bytes:
    """The name of the mark's prepared statement for these columns on this connection,
    prepared now if it is the first: the server then plans a mark once, not per message.
    The registry lives in the pooled connection's ``info`` and ``fast_commits`` empties it
    at the start of each run. The name follows from the statement, so preparing it again
    on a session that still holds it is harmless."""
    names: dict[tuple[str, ...], bytes] = conn.connection.info.setdefault(_PREPARED, {})
    name = names.get(keys)
    if name is None:
        import psycopg

        finish_mark(conn)  # preparing is a round trip of its own, outside the pipeline
        sql = _numbered(_mark_sql(keys, "%s"))
        name = f"pingan_mark_{zlib.crc32(sql.encode()):08x}".encode()
        res = raw.pgconn.prepare(name, sql.encode())
        state = res.error_field(psycopg.pq.DiagnosticField.SQLSTATE)
        if res.status != psycopg.pq.ExecStatus.COMMAND_OK and state != _ALREADY_PREPARED:
            message = (res.error_message or b"").decode(errors="replace")
            raise psycopg.OperationalError(f"preparing a delivery mark failed: {message}")
        names[keys] = name
    return name


def finish_mark(conn: Connection) -> None:
    """Read the results of the marks still unread on ``conn``, if any, and tell each its
    ``settled``; before anything else uses the connection."""
    pending = conn.info.pop(_PENDING, None)
    if pending is None:
        return
    import psycopg

    raw: Any = conn.connection.driver_connection
    pg = raw.pgconn
    written, error = _read_marks(pg, len(pending))
    pg.exit_pipeline_mode()
    for settled, ok in zip(pending, written, strict=True):
        if ok is not None:
            settled(ok)
    if error is not None:
        raise psycopg.OperationalError(f"marking a delivery failed: {error}")


def _read_marks(pg: Any, count: int) -> tuple[list[bool | None], str | None]:
    """For each of ``count`` pipelined marks, whether it wrote its row (None: it failed),
    and the first failure's message. Each mark answers with its result, an end of results
    and its Sync; whatever has not arrived yet is waited for."""
    from psycopg.pq import ExecStatus

    written: list[bool | None] = []
    outcome: bool | None = None
    error: str | None = None
    while len(written) < count:
        while pg.is_busy():
            select.select([pg.socket], [], [])
            pg.consume_input()
        res = pg.get_result()
        if res is None:  # the end of one mark's results; its Sync follows
            continue
        if res.status == ExecStatus.PIPELINE_SYNC:
            written.append(outcome)
            outcome = None
        elif res.status == ExecStatus.COMMAND_OK:
            outcome = int(res.command_tuples or 0) == 1
        elif error is None:
            error = (res.error_message or b"").decode(errors="replace")
    return written, error


def fast_commits(conn: Connection, on: bool) -> None:
    """On PostgreSQL, commit marks without waiting for the WAL flush.

    Each send is marked in its own commit (that is what bounds duplicates after a kill),
    and an fsync per message would cost more than the send. Safe: a killed *worker* loses
    nothing (the server has the commit); only a crash of the database server itself can
    lose the last fraction of a second of marks, and that re-sends — never loses — them.

    Switching on also forgets which marks this session has prepared: whoever used the
    pooled connection before may have dropped them (psycopg runs DEALLOCATE ALL after a
    rollback once it has prepared statements of its own), so the run prepares them again.
    """
    if conn.dialect.name == "postgresql":
        if on:
            conn.connection.info.pop(_PREPARED, None)
        conn.exec_driver_sql(f"SET synchronous_commit TO {'OFF' if on else 'DEFAULT'}")

"""Marking a sent delivery: each mark its own transaction, on the wire before the next send.

That is what bounds duplicates: a killed worker repeats at most the one message it had in
flight. A mark runs once per message between two sends, so it goes straight to the driver
(as pingan.adapters.db.bulk does): SQLAlchemy's per-execution work cost as much as the
UPDATE. The connection is in autocommit mode.

On SQLite a mark is one UPDATE, committed before ``mark`` returns.

On PostgreSQL marks are pipelined (pingan.adapters.outbox.mark_pipeline): each mark is its
own transaction (a prepared BEGIN, UPDATE and COMMIT), on the wire before ``mark`` returns,
and its answer is read with its group's, so no send waits for a mark's answer and no mark
costs a read of its own. The server carries out and commits every mark it has received even
if the worker is killed, however far behind it runs, so the bound holds.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection

from pingan.adapters.outbox.mark_pipeline import Pipeline

_PENDING = "pingan_outbox_pending_marks"  # Connection.info key: the Pipeline, answers unread
_PREPARED = "pingan_outbox_marks"  # DBAPI connection info key: prepared marks by columns
_ALREADY_PREPARED = b"42P05"  # duplicate_prepared_statement
# The statements around every mark, prepared with the marks under these keys (no column is
# called so, so no mark's columns can clash with them).
_BEGIN, _COMMIT = ("BEGIN",), ("COMMIT",)


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
        names = self._names
        name = names.get(keys) or _prepared(self._conn, self._raw, keys)
        pipeline: Pipeline | None = self._info.get(_PENDING)
        if pipeline is None:
            begin = names.get(_BEGIN) or _prepared(self._conn, self._raw, _BEGIN)
            commit = names.get(_COMMIT) or _prepared(self._conn, self._raw, _COMMIT)
            pipeline = self._info[_PENDING] = Pipeline(self._raw, begin, commit)
        pipeline.send(settled, name, params)


def mark(
    conn: Connection,
    row_id: int,
    owner: str,
    values: Mapping[str, Any],
    settled: Callable[[bool], None],
) -> None:
    """Write a leased row's outcome, unless another worker took it over meanwhile;
    ``settled`` is told whether it was written (on PostgreSQL once its answer is read:
    with its group's, or by ``finish_mark``). A batch's marks go through one ``Marker``."""
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
        sql = keys[0] if keys in (_BEGIN, _COMMIT) else _numbered(_mark_sql(keys, "%s"))
        name = f"pingan_mark_{zlib.crc32(sql.encode()):08x}".encode()
        res = raw.pgconn.prepare(name, sql.encode())
        state = res.error_field(psycopg.pq.DiagnosticField.SQLSTATE)
        if res.status != psycopg.pq.ExecStatus.COMMAND_OK and state != _ALREADY_PREPARED:
            message = (res.error_message or b"").decode(errors="replace")
            raise psycopg.OperationalError(f"preparing a delivery mark failed: {message}")
        names[keys] = name
    return name


def finish_mark(conn: Connection) -> None:
    """Read the answers of the marks still unread on ``conn``, if any, and tell each its
    ``settled``; before anything else uses the connection. Raises if a mark failed, once
    the others are settled."""
    pipeline: Pipeline | None = conn.info.pop(_PENDING, None)
    if pipeline is None:
        return
    error = pipeline.close()
    if error is not None:
        import psycopg

        raise psycopg.OperationalError(f"marking a delivery failed: {error}")


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

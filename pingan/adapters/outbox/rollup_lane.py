"""The roll-ups of one dispatcher run, kept off the sending path.

On PostgreSQL each roll-up of a run's batches goes out on a connection of its own and is not
waited for: the server rolls a thousand notifications up while the run goes on sending, and
the result is read before the next roll-up is sent, before any roll-up that must see it (a
fallback's), and when the run ends, before the run's reconciliation. A roll-up only
recomputes notifications from their deliveries, so one lost with a killed worker is redone
by the next run's reconciliation; the marks, which bound duplicates, stay on the run's own
connection and never wait behind a roll-up. On SQLite every roll-up runs at once on the
run's connection, as before.
"""

from __future__ import annotations

import select
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, Engine

from pingan.adapters.outbox.rollup import (
    DEADLOCK,
    again_on_deadlock,
    by_ids,
    rollup_notifications,
)


@lru_cache(maxsize=4)
def _sql(dialect: Any) -> tuple[str, dict[str, Any]]:
    """The roll-up by ids as text for the driver, with its fixed parameters."""
    compiled = by_ids(True).compile(dialect=dialect, compile_kwargs={"render_postcompile": True})
    return str(compiled), dict(compiled.params)


class RollupLane:
    """Roll-ups for ``conn``'s run (autocommit; its marks read before each call); as a
    context manager, closed when the run's batches end."""

    def __init__(self, engine: Engine, conn: Connection) -> None:
        self._engine = engine
        self._conn = conn
        self._raw: Any = None  # the lane's own connection, taken at the first roll-up
        self._pending: list[int] | None = None

    def __enter__(self) -> RollupLane:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def submit(self, notification_ids: Sequence[int]) -> None:
        """Roll ``notification_ids`` up; on PostgreSQL without waiting for it."""
        ids = list(notification_ids)
        if self._conn.dialect.name != "postgresql":
            again_on_deadlock(rollup_notifications, self._conn, ids)
            return
        self.wait()
        db = self._connection()
        import psycopg

        sql, fixed = _sql(self._conn.dialect)
        text = psycopg.ClientCursor(db).mogrify(sql, {**fixed, "ids": ids})
        db.pgconn.send_query(text.encode())
        self._pending = ids

    def _connection(self) -> Any:
        """The lane's driver connection, taken from the pool the first time."""
        if self._raw is None:
            raw = self._engine.raw_connection()
            try:
                db: Any = raw.driver_connection
                db.autocommit = True
                # As the run's own roll-ups: a lost commit is redone by a reconciliation.
                db.execute("SET synchronous_commit TO OFF")
            except BaseException:
                raw.invalidate()
                raise
            self._raw = raw
        return self._raw.driver_connection

    def now(self, notification_ids: Sequence[int]) -> None:
        """Roll ``notification_ids`` up before returning, after any roll-up still running."""
        self.wait()
        again_on_deadlock(rollup_notifications, self._conn, list(notification_ids))

    def wait(self) -> None:
        """Wait for the roll-up still running, if any; one PostgreSQL chose as a deadlock's
        victim is done again at once on the run's connection."""
        ids, self._pending = self._pending, None
        if ids is None:
            return
        state, message = _result(self._raw.driver_connection.pgconn)
        if state == DEADLOCK:
            again_on_deadlock(rollup_notifications, self._conn, ids)
        elif state is not None:
            import psycopg

            raise psycopg.OperationalError(f"rolling notifications up failed: {message}")

    def close(self) -> None:
        """Wait for the last roll-up and give the connection back (dropped if it failed)."""
        if self._raw is None:
            return
        raw, ok = self._raw, False
        try:
            self.wait()
            db = raw.driver_connection
            db.execute("SET synchronous_commit TO DEFAULT")
            db.autocommit = False
            ok = True
        finally:
            self._raw = None
            if ok:
                raw.close()
            else:
                raw.invalidate()


def _result(pg: Any) -> tuple[str | None, str]:
    """(SQLSTATE, message) of the statement sent on ``pg``, (None, "") if it succeeded;
    waits for it."""
    from psycopg.pq import DiagnosticField, ExecStatus

    while True:
        pg.consume_input()
        if not pg.is_busy():
            break
        select.select([pg.socket], [], [])
    state: str | None = None
    message = ""
    while (res := pg.get_result()) is not None:
        if res.status not in (ExecStatus.COMMAND_OK, ExecStatus.TUPLES_OK) and state is None:
            code = res.error_field(DiagnosticField.SQLSTATE) or b"XX000"
            state = code.decode()
            message = (res.error_message or b"").decode(errors="replace")
    return state, message

"""PostgreSQL's side of delivery marks: libpq's pipeline mode, each mark its own transaction.

A mark goes out as three prepared statements, BEGIN, its UPDATE and COMMIT, flushed to the
server before the next send, and no Sync follows it: the COMMIT commits it, and the server
answers nothing until a Sync asks (its answers wait in its output buffer). A group of marks
ends with one Sync, once ``GROUP`` marks have gone out or when their results are wanted
(``Pipeline.close``), and the group's answers are read before any mark goes out behind that
Sync: as a send has passed meanwhile, they are in by then, and only a server that lags far
behind is waited for.

That is what keeps the duplicate bound when the worker is killed while the server lags
behind. The server carries out every statement it has received from the dead connection
until it reaches the end of it, as long as it writes nothing to it: a write fails once the
worker is gone, and the server then ends the session before its next statement. With a
Sync after every mark (the server answers each), a server a few marks behind would commit
the first of them and lose the rest, one duplicate each. Here no mark ever waits behind a
Sync, so every mark that reached the server is committed.

A mark that fails (its UPDATE or COMMIT returns an error) aborts its transaction, and the
server skips what follows up to the group's Sync. The failed transaction is then rolled back
and the marks skipped after it are sent again one by one, so a failure costs only its own
mark.
"""

from __future__ import annotations

import select
from collections.abc import Callable
from typing import Any

# Marks per Sync: the server's answers to a group (about 70 bytes a mark) must fit in its
# 8 KB output buffer, or it would write them to the connection before the Sync.
GROUP = 64
_SKIPPED = object()  # not carried out: an earlier mark of its group failed


# A mark on the wire whose answer is unread: what to tell, its statement and parameters (a
# plain tuple: one is made between every two sends).
_Sent = tuple[Callable[[bool], None], bytes, list[bytes | None]]


class Pipeline:
    """The marks sent on one connection (libpq's ``pgconn``, in autocommit) whose answers
    are unread, with BEGIN and COMMIT prepared as ``begin`` and ``commit``."""

    def __init__(self, raw: Any, begin: bytes, commit: bytes) -> None:
        self._raw = raw
        self._pg = raw.pgconn
        self._begin = begin
        self._commit = commit
        self._sent: list[_Sent] = []
        self._synced = 0  # how many of ``_sent`` the last Sync covers (0: none pending)
        self.error: str | None = None  # the first failed mark's message
        self._pg.enter_pipeline_mode()

    def send(
        self, settled: Callable[[bool], None], name: bytes, params: list[bytes | None]
    ) -> None:
        """Put a mark on the wire: the prepared UPDATE ``name`` with ``params`` in a
        transaction of its own; ``settled`` is told whether it wrote its row once its
        group's answers are read."""
        if self._synced:
            self._answers()  # nothing goes out behind an unanswered Sync
        sent = self._sent
        sent.append((settled, name, params))
        pg = self._pg
        pg.send_query_prepared(self._begin, None)
        pg.send_query_prepared(name, params)
        pg.send_query_prepared(self._commit, None)
        if len(sent) >= GROUP:
            pg.pipeline_sync()
            self._synced = len(sent)
        if pg.flush():  # 0: all on the wire; else the socket is full and must drain
            self._drain()

    def close(self) -> str | None:
        """Read every answer, leave pipeline mode and return the first failure's message."""
        if self._synced:
            self._answers()
        if self._sent:
            self._sync()
            self._flush()
            self._answers()
        self._pg.exit_pipeline_mode()
        return self.error

    def _sync(self) -> None:
        self._pg.pipeline_sync()
        self._synced = len(self._sent)

    def _flush(self) -> None:
        if self._pg.flush():
            self._drain()

    def _drain(self) -> None:
        """Wait until all that was sent is on the wire (reading answers meanwhile)."""
        from psycopg.generators import send

        self._raw.wait(send(self._pg))

    def _answers(self) -> None:
        """Read the answers up to the last Sync and settle their marks; a group with a
        failure is rolled back and its skipped marks are sent again, each alone."""
        group = self._sent[: self._synced]
        del self._sent[: self._synced]
        self._synced = 0
        outcomes, error = _read_group(self._pg, len(group))
        skipped: list[_Sent] = []
        for sent, outcome in zip(group, outcomes, strict=True):
            if outcome is _SKIPPED:
                skipped.append(sent)
            elif isinstance(outcome, bool):
                sent[0](outcome)
        if error is None:
            return
        self.error = self.error or error
        self._rollback()
        for sent in skipped:
            self._sent.append(sent)
            self._pg.send_query_prepared(self._begin, None)
            self._pg.send_query_prepared(sent[1], sent[2])
            self._pg.send_query_prepared(self._commit, None)
            self._sync()
            self._flush()
            self._answers()

    def _rollback(self) -> None:
        """End the failed transaction a group's error left open."""
        self._pg.send_query_params(b"ROLLBACK", None)
        self._pg.pipeline_sync()
        self._flush()
        _read_results(self._pg)


def _read_results(pg: Any) -> list[Any]:
    """The statuses and results up to the next Sync's, waiting for what has not arrived."""
    from psycopg.pq import ExecStatus

    results: list[Any] = []
    while True:
        if pg.is_busy():
            pg.consume_input()  # what has arrived, without waiting: usually all of it
            while pg.is_busy():
                select.select([pg.socket], [], [])
                pg.consume_input()
        res = pg.get_result()
        if res is None:  # the end of one statement's results
            continue
        if res.status == ExecStatus.PIPELINE_SYNC:
            return results
        results.append(res)


def _read_group(pg: Any, count: int) -> tuple[list[Any], str | None]:
    """For each of ``count`` marks (three statements each) whether it wrote its row, None
    if it failed, or ``_SKIPPED``; and the first failure's message."""
    from psycopg.pq import ExecStatus

    results = _read_results(pg)
    if len(results) != 3 * count:
        return [None] * count, f"expected {3 * count} results, got {len(results)}"
    ok = ExecStatus.COMMAND_OK
    outcomes: list[Any] = []
    error: str | None = None
    for i in range(0, 3 * count, 3):
        begin, update, commit = results[i : i + 3]
        if begin.status == ok and update.status == ok and commit.status == ok:
            outcomes.append(update.command_tuples == 1)
            continue
        statuses = [begin.status, update.status, commit.status]
        if ExecStatus.FATAL_ERROR in statuses:
            outcomes.append(None)
            failed = results[i + statuses.index(ExecStatus.FATAL_ERROR)]
            error = error or (failed.error_message or b"").decode(errors="replace")
        else:
            outcomes.append(_SKIPPED)
    return outcomes, error

"""The tick's semantics at the physical limit: a minimal, bare implementation in sqlite3 and
psycopg, independent of pingan's modules (it imports none of them).

Minimal schema: one table of obligations (no campaign column, no foreign keys, no secondary
indexes), units with their supervisor, the working-day table, and an outbox keyed by one
integer dedupe key. Per tick, one statement each:

- evaluate: status, working-day offset, days overdue and ladder level (rows that do not
  change are not written);
- levels: overdue items per newly reached ladder level (and the highest);
- reminders: one row per due-soon item in a reminder band (one INSERT for all bands);
- escalations: one row per overdue item at its highest newly reached contact rung;
- digests: one row per supervisor (lead rung) and for the coordinator (coordinator rung);
- announce: the ``notified_level`` update;
- counts: obligations per status.

bench/tick.py feeds it pingan's own rows (``copy_from_pingan``) and compares it with
pingan's tick statement by statement in the same run. Usable alone too:

    python bench/limit.py DBAPI_URL AS_OF   # sqlite:///file.db or postgresql://…
"""

from __future__ import annotations

import json
import sqlite3
import sys
import time
from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import urlsplit

# Status codes of the minimal schema.
NOT_OPEN, OPEN, DUE_SOON, OVERDUE, DONE, DONE_LATE, WAIVED = range(7)
STATUS_NAMES = ("not_open", "open", "due_soon", "overdue", "done", "done_late", "waived")
REMINDER, ESCALATION, DIGEST = 1, 2, 3


@dataclass(frozen=True)
class Rules:
    """What a tick needs of the campaign, as plain numbers."""

    days_before: tuple[int, ...]  # reminder steps, working days before the due date
    ladder: tuple[tuple[int, str], ...]  # (working days overdue, contact|lead|coordinator)
    repeat_every: int | None
    coordinator_id: int


def connect(url: str) -> Any:
    """A DB-API connection from sqlite:///path or postgresql[+psycopg]://… (SQLAlchemy form)."""
    if url.startswith("sqlite:///"):
        conn = sqlite3.connect(url[len("sqlite:///") :], isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        return conn
    import psycopg

    parts = urlsplit(url)
    return psycopg.connect(parts._replace(scheme="postgresql").geturl(), autocommit=True)


def _is_pg(conn: Any) -> bool:
    return not isinstance(conn, sqlite3.Connection)


def _exec(conn: Any, sql: str) -> Any:
    cur = conn.cursor()
    cur.execute(sql)
    return cur


SCHEMA = """
DROP TABLE IF EXISTS lim_out;
DROP TABLE IF EXISTS lim_ob;
DROP TABLE IF EXISTS lim_unit;
DROP TABLE IF EXISTS lim_wd;
CREATE TABLE lim_wd (day DATE PRIMARY KEY, ord INTEGER NOT NULL);
CREATE TABLE lim_unit (id INTEGER PRIMARY KEY, active BOOLEAN NOT NULL, sup INTEGER);
CREATE TABLE lim_ob (
  id INTEGER PRIMARY KEY, unit INTEGER NOT NULL, files BOOLEAN NOT NULL,
  opens DATE NOT NULL, due DATE NOT NULL, done DATE, waived BOOLEAN NOT NULL,
  status SMALLINT NOT NULL, as_of DATE, wd_offset INTEGER NOT NULL, days INTEGER NOT NULL,
  level INTEGER NOT NULL, notified INTEGER NOT NULL);
CREATE TABLE lim_out (
  key BIGINT PRIMARY KEY, kind SMALLINT NOT NULL, level INTEGER NOT NULL,
  recipient INTEGER NOT NULL, obligation INTEGER, planned DATE NOT NULL);
"""


def copy_from_pingan(conn: Any, campaign_id: int) -> None:
    """The minimal tables, filled from pingan's tables of one campaign in a 'never evaluated'
    state (not timed: the limit is about the tick, not the load)."""
    for stmt in SCHEMA.split(";"):
        if stmt.strip():
            _exec(conn, stmt)
    c = int(campaign_id)
    _exec(conn, "BEGIN")
    _exec(conn, f"INSERT INTO lim_wd SELECT day, ordinal FROM workday WHERE campaign_id = {c}")
    _exec(
        conn,
        "INSERT INTO lim_unit SELECT id, status = 'active', supervisor_id FROM unit"
        f" WHERE campaign_id = {c}",
    )
    _exec(
        conn,
        "INSERT INTO lim_ob SELECT o.id, o.unit_id, g.evidence = 'files', o.opens_on, o.due_on,"
        " o.done_on, o.waived, 0, NULL, 0, 0, 0, 0 FROM obligation o JOIN gate g"
        f" ON g.id = o.gate_id WHERE o.campaign_id = {c} ORDER BY o.id",
    )
    _exec(conn, "COMMIT")
    if _is_pg(conn):
        for t in ("lim_wd", "lim_unit", "lim_ob", "lim_out"):
            _exec(conn, f"VACUUM ANALYZE {t}")
    else:  # its own tables only: pingan's statistics stay as pingan left them
        for t in ("lim_wd", "lim_unit", "lim_ob", "lim_out"):
            _exec(conn, f"ANALYZE {t}")


def _level_sql(rules: Rules, offset: str) -> str:
    """The ladder level reached at ``offset`` working days overdue."""
    last = rules.ladder[-1][0]
    n = len(rules.ladder)
    every = rules.repeat_every
    top = f"{n}" if every is None else f"{n} + ({offset} - {last}) / {every}"
    whens = [f"WHEN {offset} >= {last} THEN {top}"]
    whens += [f"WHEN {offset} >= {rules.ladder[i - 1][0]} THEN {i}" for i in range(n - 1, 0, -1)]
    return f"CASE {' '.join(whens)} ELSE 0 END"


def _target(rules: Rules, level: int) -> str:
    return rules.ladder[(level - 1) % len(rules.ladder)][1]


def _highest(rules: Rules, target: str, top: int, level: str) -> str | None:
    """SQL: the highest level of ``target`` at or below ``level`` (0 if none), levels ≤ top."""
    ks = [k for k in range(1, top + 1) if _target(rules, k) == target]
    if not ks:
        return None
    whens = " ".join(f"WHEN {level} >= {k} THEN {k}" for k in reversed(ks))
    return f"CASE {whens} ELSE 0 END"


def evaluate(conn: Any, rules: Rules, as_of: date) -> int:
    d = f"'{as_of.isoformat()}'"
    ord_ = _exec(conn, f"SELECT ord FROM lim_wd WHERE day = {d}").fetchone()[0]
    window = max(rules.days_before)
    off = f"({ord_} - w.ord)"
    done_now = f"(o.done IS NOT NULL AND o.done <= {d})"
    pending = f"(NOT o.waived AND NOT {done_now})"
    status = (
        f"CASE WHEN o.waived THEN {WAIVED}"
        f" WHEN {done_now} THEN CASE WHEN o.done <= o.due THEN {DONE} ELSE {DONE_LATE} END"
        f" WHEN {d} < o.opens THEN {NOT_OPEN} WHEN {d} > o.due THEN {OVERDUE}"
        f" WHEN -{off} <= {window} THEN {DUE_SOON} ELSE {OPEN} END"
    )
    overdue = f"({pending} AND {d} > o.due)"
    new_offset = f"CASE WHEN {pending} AND {d} >= o.opens THEN {off} ELSE 0 END"
    new_days = f"CASE WHEN {overdue} THEN {off} ELSE 0 END"
    new_level = f"CASE WHEN {overdue} THEN {_level_sql(rules, off)} ELSE 0 END"
    cur = _exec(
        conn,
        f"UPDATE lim_ob AS o SET status = {status}, wd_offset = {new_offset}, days = {new_days},"
        f" level = {new_level}, as_of = {d} FROM lim_wd AS w WHERE w.day = o.due AND"
        f" (o.as_of IS NULL OR o.status <> {status} OR o.wd_offset <> {new_offset}"
        f" OR o.days <> {new_days} OR o.level <> {new_level})",
    )
    return int(cur.rowcount)


FRESH = f"o.status = {OVERDUE} AND o.level > o.notified AND u.active AND u.id = o.unit AND o.files"


def levels(conn: Any) -> dict[int, int]:
    rows = _exec(
        conn, f"SELECT o.level, count(*) FROM lim_ob o, lim_unit u WHERE {FRESH} GROUP BY o.level"
    ).fetchall()
    return {int(level): int(n) for level, n in rows}


def _insert(conn: Any, select: str) -> int:
    cur = _exec(conn, f"INSERT INTO lim_out {select} ON CONFLICT (key) DO NOTHING")
    return int(cur.rowcount)


def _day(conn: Any, day: date) -> str:
    """A date literal to insert (SQLite stores ISO text)."""
    return f"DATE '{day.isoformat()}'" if _is_pg(conn) else f"'{day.isoformat()}'"


def reminders(conn: Any, rules: Rules, as_of: date) -> int:
    steps = sorted(set(rules.days_before), reverse=True)
    whens = []
    for i, step in enumerate(steps):
        low = steps[i + 1] + 1 if i + 1 < len(steps) else 0
        whens.append(f"WHEN -o.wd_offset BETWEEN {low} AND {step} THEN {step}")
    step_sql = f"CASE {' '.join(whens)} END"
    return _insert(
        conn,
        f"SELECT (CAST(id AS BIGINT) * 65536 + step) * 4 + {REMINDER}, {REMINDER}, step, unit, id,"
        f" {_day(conn, as_of)} FROM (SELECT o.id, o.unit, {step_sql} AS step"
        f" FROM lim_ob o, lim_unit u WHERE o.status = {DUE_SOON} AND u.id = o.unit AND u.active"
        f" AND o.files AND -o.wd_offset BETWEEN 0 AND {steps[0]}) s WHERE step IS NOT NULL",
    )


def escalations(conn: Any, rules: Rules, as_of: date, top: int) -> int:
    rung = _highest(rules, "contact", top, "o.level")
    if rung is None:
        return 0
    return _insert(
        conn,
        f"SELECT (CAST(id AS BIGINT) * 65536 + k) * 4 + {ESCALATION}, {ESCALATION}, k, unit, id,"
        f" {_day(conn, as_of)} FROM (SELECT o.id, o.unit, o.notified, {rung} AS k"
        f" FROM lim_ob o, lim_unit u WHERE {FRESH}) s WHERE k > notified",
    )


def digests(conn: Any, rules: Rules, as_of: date, top: int, day_ord: int) -> int:
    parts = []
    lead = _highest(rules, "lead", top, "o.level")
    if lead is not None:
        parts.append(
            f"SELECT u.sup AS rid FROM lim_ob o, lim_unit u WHERE {FRESH}"
            f" AND {lead} > o.notified AND u.sup IS NOT NULL"
        )
    coord = _highest(rules, "coordinator", top, "o.level")
    if coord is not None:
        parts.append(
            f"SELECT {rules.coordinator_id} AS rid FROM lim_ob o, lim_unit u WHERE {FRESH}"
            f" AND {coord} > o.notified"
        )
    if not parts:
        return 0
    return _insert(
        conn,
        f"SELECT (CAST(rid AS BIGINT) * 65536 + {day_ord}) * 4 + {DIGEST}, {DIGEST}, 0, rid, NULL,"
        f" {_day(conn, as_of)} FROM ({' UNION '.join(parts)}) r WHERE true",
    )


def announce(conn: Any) -> int:
    cur = _exec(
        conn,
        f"UPDATE lim_ob SET notified = level WHERE status = {OVERDUE} AND level > notified"
        " AND unit IN (SELECT id FROM lim_unit WHERE active)",
    )
    return int(cur.rowcount)


def counts(conn: Any) -> dict[str, int]:
    rows = _exec(conn, "SELECT status, count(*) FROM lim_ob GROUP BY status").fetchall()
    return {STATUS_NAMES[int(s)]: int(n) for s, n in rows}


def tick(conn: Any, rules: Rules, as_of: date) -> dict[str, Any]:
    """One tick in one transaction; seconds per statement and what was planned."""
    seconds: dict[str, float] = {}
    out: dict[str, Any] = {}

    def step(name: str, fn: Any) -> Any:
        start = time.perf_counter()
        value = fn()
        seconds[name] = round(time.perf_counter() - start, 3)
        return value

    begin = time.perf_counter()
    _exec(conn, "BEGIN")
    if _is_pg(conn):
        # A lost commit only means the tick runs again: nothing waits for the WAL flush.
        _exec(conn, "SET LOCAL synchronous_commit = off")
    out["evaluated"] = step("evaluate", lambda: evaluate(conn, rules, as_of))
    by_level = step("levels", lambda: levels(conn))
    top = max(by_level, default=0)
    day_ord = _exec(conn, f"SELECT ord FROM lim_wd WHERE day = '{as_of.isoformat()}'").fetchone()
    out["reminders"] = step("reminders", lambda: reminders(conn, rules, as_of))
    out["escalations"] = step("escalations", lambda: escalations(conn, rules, as_of, top))
    out["digests"] = step("digests", lambda: digests(conn, rules, as_of, top, int(day_ord[0])))
    out["announced"] = step("announce", lambda: announce(conn))
    out["counts"] = step("counts", lambda: counts(conn))
    step("commit", lambda: _exec(conn, "COMMIT"))
    out["by_level"] = by_level
    return {"seconds": seconds, "total_seconds": round(time.perf_counter() - begin, 3), **out}


def main() -> None:
    url, as_of = sys.argv[1], date.fromisoformat(sys.argv[2])
    rules = Rules((3, 1), ((1, "contact"), (3, "lead"), (5, "coordinator")), 5, 0)
    conn = connect(url)
    print(json.dumps(tick(conn, rules, as_of), default=str))


if __name__ == "__main__":
    main()

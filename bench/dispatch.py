"""Outbox dispatch throughput: `pingan.adapters.outbox.dispatch` of N webhook messages to a
local HTTP
sink vs bare sequential httpx POSTs of the same payloads, on SQLite and PostgreSQL; then
every new channel (SMS through both vendors' SDKs, WeCom app messages, DingTalk work notices,
smtplib email) dispatched to its stand-in vs a bare SDK / httpx / smtplib loop to the same
stand-in (bench/_channels.py).

The sink (ThreadingHTTPServer on 127.0.0.1, HTTP/1.1 keep-alive, always 200) is the same
for both; so are the httpx client settings. Rate limits are off and the messages are
pre-rendered, so the difference is the dispatcher's own cost: claiming, one marking commit
per message (what bounds duplicates after a crash), roll-up. A floor between the two (``floor``:
the bare posts, each followed by one committed mark on a scratch table, written against the
driver alone) shows what the duplicate bound costs by itself. Bare, floor and dispatch runs
alternate --repeat times; the medians are compared.

Usage: python bench/dispatch.py [--messages 5000] [--channel-messages 300] [--repeat 3]
       [--backend sqlite] [--smoke]   (--smoke: 300 webhook, 100 per channel, once; < 30 s)
Target (issue): dispatch ≥ 50% of bare throughput, for the webhook and for every channel.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import select
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))  # the channel stand-ins live in tests/channels/standins

import httpx  # noqa: E402
from _channels import CASES, Case  # noqa: E402
from _common import SEED, backends, emit, fresh_database, machine, peak_rss_mb  # noqa: E402
from sqlalchemy import Engine, insert, text  # noqa: E402

from pingan.adapters.channels.base import Message  # noqa: E402
from pingan.adapters.channels.webhook import JsonWebhook, webhook_payload  # noqa: E402
from pingan.adapters.db.notifications import NotificationRow  # noqa: E402
from pingan.adapters.outbox import dispatch, outbox_counts  # noqa: E402
from pingan.adapters.outbox.personal import for_delivery  # noqa: E402
from pingan.core.campaign import load_campaign  # noqa: E402
from pingan.core.delivery import DispatchPolicy  # noqa: E402
from pingan.services.load import load  # noqa: E402
from pingan.services.synth import write_roster  # noqa: E402
from pingan.services.tick import open_campaign  # noqa: E402

TARGET = 0.5
REF = "secret:bench-sink"


def _serve(port_out: Any, received: Any) -> None:
    """The sink's process: always 200, counting what it received."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body are two writes

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            with received.get_lock():
                received.value += 1
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    port_out.send(server.server_address[1])
    server.serve_forever()


class Sink:
    """The receiver, in a process of its own as a real one is: in the sender's process its
    thread and the sender's compete for one interpreter lock, and whichever holds it keeps
    the other waiting up to a switch interval (5 ms) per post — a cost of the measurement
    that grows with every line of Python the sender runs between posts, not of sending."""

    def __init__(self) -> None:
        ctx = multiprocessing.get_context("spawn")
        self._received = ctx.Value("i", 0)
        parent, child = ctx.Pipe()
        self._process = ctx.Process(target=_serve, args=(child, self._received), daemon=True)
        self._process.start()
        port = parent.recv()
        self.url = f"http://127.0.0.1:{port}/hook"

    @property
    def received(self) -> int:
        return int(self._received.value)

    def close(self) -> None:
        self._process.terminate()
        self._process.join(timeout=10)


class Resolver:
    def __init__(self, url: str) -> None:
        self.url = url

    def resolve(self, reference: str) -> str:
        if reference != REF:
            raise KeyError(reference)
        return self.url


def client() -> httpx.Client:
    """The same settings for both sides (the channel's own defaults)."""
    return httpx.Client(timeout=10, follow_redirects=False)


def plan(engine: Engine, campaign_id: int, n: int, tag: str) -> list[Message]:
    """Every unit reachable by the sink only; n pre-rendered bulletins spread over them."""
    with engine.begin() as conn:
        units = list(
            conn.execute(
                text("SELECT id FROM unit WHERE campaign_id = :c ORDER BY id"), {"c": campaign_id}
            ).scalars()
        )
        conn.execute(text("DELETE FROM contact"))
        conn.execute(
            text("INSERT INTO contact (unit_id, webhook_ref) VALUES (:u, :w)"),
            [{"u": u, "w": REF} for u in units],
        )
        rows = [
            {
                "campaign_id": campaign_id,
                "dedupe_key": f"{campaign_id}:bench:{tag}:{i:06d}",
                "kind": "bulletin",
                "recipient_unit_id": units[i % len(units)],
                "planned_on": date(2017, 5, 22),
                "subject": f"【徐城街道平安细胞创建】工作通报第 {i} 号",
                "body": "各单位：\n请于本周五前报送平安细胞创建工作进展情况。\n街道综治中心\n" * 3,
            }
            for i in range(n)
        ]
        conn.execute(insert(NotificationRow), rows)
    return [Message(r["subject"], r["body"], dedupe_key=r["dedupe_key"]) for r in rows]


def as_posted(messages: list[Message]) -> list[Message]:
    """The messages as dispatch posts them to the sink, so bare and floor post the same
    bytes: a webhook is a group address, and its payload carries the escaped markdown too."""
    return [for_delivery(m, None, personal=False, markups=JsonWebhook.markups) for m in messages]


def bare(url: str, messages: list[Message]) -> float:
    """What dispatch must at least do: POST each payload, in order, and check the status."""
    with client() as c:
        start = time.perf_counter()
        for m in messages:
            _post(c, url, m)
        return time.perf_counter() - start


FLOOR_GROUP = 64  # the floor ends a group of marks with a Sync, and reads it, this often


def floor(engine: Engine, url: str, messages: list[Message]) -> float:
    """The least a sender that bounds duplicates must do: the bare posts, each followed by
    one committed mark before the next post, so a killed sender repeats at most the post it
    had in flight. Written against the driver, independently of pingan's modules, on a
    scratch table with one row per message and no other index.

    On PostgreSQL each mark is a prepared UPDATE between a prepared BEGIN and COMMIT,
    pipelined (libpq's pipeline mode, commits without waiting for the WAL flush) and flushed;
    a Sync ends every ``FLOOR_GROUP`` marks and is read before the next mark, so that no mark
    waits behind a Sync the server could fail to answer to a killed sender. On SQLite the
    same UPDATE, committed by sqlite3."""
    raw: Any = engine.raw_connection()
    try:
        db = raw.driver_connection
        if engine.dialect.name == "postgresql":
            return _floor_pg(db, url, messages)
        return _floor_sqlite(db, url, messages)
    finally:
        raw.invalidate()  # its session settings stay out of the pool


def _floor_rows(db: Any, n: int) -> None:
    cur = db.cursor()
    cur.execute("DROP TABLE IF EXISTS bench_floor")
    cur.execute(
        "CREATE TABLE bench_floor (id INTEGER PRIMARY KEY, state VARCHAR(16), sent_at TEXT)"
    )
    mark = "?" if isinstance(db, sqlite3.Connection) else "%s"
    cur.executemany(
        f"INSERT INTO bench_floor VALUES ({mark}, 'leased', NULL)", [(i,) for i in range(n)]
    )
    db.commit()


def _post(c: httpx.Client, url: str, m: Message) -> None:
    body = json.dumps(webhook_payload(m), ensure_ascii=False).encode("utf-8")
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "Idempotency-Key": str(m.dedupe_key),
    }
    c.post(url, content=body, headers=headers).raise_for_status()


def _floor_sqlite(db: sqlite3.Connection, url: str, messages: list[Message]) -> float:
    _floor_rows(db, len(messages))
    db.isolation_level = None  # autocommit: each UPDATE commits on its own
    sql = "UPDATE bench_floor SET state = 'sent', sent_at = ? WHERE id = ? AND state = 'leased'"
    with client() as c:
        start = time.perf_counter()
        for i, m in enumerate(messages):
            _post(c, url, m)
            if db.execute(sql, (datetime.now(UTC).isoformat(), i)).rowcount != 1:
                raise RuntimeError("floor: a mark wrote nothing")
        return time.perf_counter() - start


def _floor_pg(db: Any, url: str, messages: list[Message]) -> float:
    from psycopg.pq import ExecStatus

    _floor_rows(db, len(messages))
    db.autocommit = True
    db.execute("SET synchronous_commit TO OFF")
    pg = db.pgconn
    sql = b"UPDATE bench_floor SET state = 'sent', sent_at = $2 WHERE id = $1 AND state = 'leased'"
    for name, statement in ((b"mark", sql), (b"begin", b"BEGIN"), (b"commit", b"COMMIT")):
        if pg.prepare(b"bench_floor_" + name, statement).status != ExecStatus.COMMAND_OK:
            raise RuntimeError("floor: preparing the mark failed")
    pg.enter_pipeline_mode()
    unread = 0
    with client() as c:
        start = time.perf_counter()
        for i, m in enumerate(messages):
            _post(c, url, m)
            if unread == FLOOR_GROUP:
                _floor_read(pg, unread)
                unread = 0
            now = datetime.now(UTC).isoformat().encode()
            pg.send_query_prepared(b"bench_floor_begin", None)
            pg.send_query_prepared(b"bench_floor_mark", [str(i).encode(), now])
            pg.send_query_prepared(b"bench_floor_commit", None)
            unread += 1
            if unread == FLOOR_GROUP or i == len(messages) - 1:
                pg.pipeline_sync()
            while pg.flush():  # on the wire before the next post
                select.select([], [pg.socket], [])
        if unread:
            _floor_read(pg, unread)
        return time.perf_counter() - start


def _floor_read(pg: Any, count: int) -> None:
    """Read a group of ``count`` marks' results, up to its Sync; each must have written
    its row."""
    from psycopg.pq import ExecStatus

    results = []
    while True:
        if pg.is_busy():
            pg.consume_input()
            while pg.is_busy():
                select.select([pg.socket], [], [])
                pg.consume_input()
        res = pg.get_result()
        if res is None:
            continue
        if res.status == ExecStatus.PIPELINE_SYNC:
            break
        results.append(res)
    updated = [r.command_tuples for r in results[1::3]]
    if any(r.status != ExecStatus.COMMAND_OK for r in results) or updated != [1] * count:
        raise RuntimeError("floor: a mark failed or wrote nothing")


def run(backend: str, n: int, repeat: int, batch: int, workdir: Path) -> dict[str, Any]:
    sink = Sink()
    roster = workdir / "roster.csv"
    write_roster(load_campaign(SEED), 20, 2017, roster)
    bare_s: list[float] = []
    floor_s: list[float] = []
    dispatch_s: list[float] = []
    try:
        with fresh_database(backend, workdir) as engine:
            load(engine, SEED, roster, actor="bench")
            handle = open_campaign(engine, "xucheng-2017")
            for r in range(repeat):
                messages = as_posted(plan(engine, handle.campaign_id, n, f"r{r}"))
                bare_s.append(bare(sink.url, messages))
                floor_s.append(floor(engine, sink.url, messages))
                with client() as c:
                    channel = JsonWebhook(Resolver(sink.url), client=c, timeout=10)
                    start = time.perf_counter()
                    report = dispatch(
                        engine,
                        handle.campaign,
                        handle.campaign_id,
                        {"webhook": channel},
                        DispatchPolicy(rate_per_minute={}, batch=batch),
                    )
                    dispatch_s.append(time.perf_counter() - start)
                assert report.sent == n, report
            counts = outbox_counts(engine, handle.campaign_id)
    finally:
        sink.close()
    b, d = statistics.median(bare_s), statistics.median(dispatch_s)
    f = statistics.median(floor_s)
    return {
        "backend": backend,
        "messages": n,
        "batch": batch,
        "bare_s": [round(x, 3) for x in bare_s],
        "floor_s": [round(x, 3) for x in floor_s],
        "dispatch_s": [round(x, 3) for x in dispatch_s],
        "bare_msgs_per_s": round(n / b),
        "floor_msgs_per_s": round(n / f),
        "dispatch_msgs_per_s": round(n / d),
        "ratio": round(b / d, 3),
        # The floor against bare: what one committed mark per message costs by itself; and
        # dispatch against the floor: what pingan adds beyond it.
        "floor_ratio": round(b / f, 3),
        "dispatch_vs_floor": round(f / d, 3),
        "target_ratio": TARGET,
        "meets_target": b / d >= TARGET,
        "sink_received": sink.received,
        "deliveries": counts,
    }


def run_channels(backend: str, n: int, repeat: int, batch: int, workdir: Path) -> list[Any]:
    """Each new channel: dispatch to its stand-in vs the bare vendor call, alternating."""
    roster = workdir / "roster-channels.csv"
    write_roster(load_campaign(SEED), 20, 2017, roster)
    results = []
    with fresh_database(backend, workdir) as engine:
        load(engine, SEED, roster, actor="bench")
        handle = open_campaign(engine, "xucheng-2017")
        for make in CASES:
            case = make()
            try:
                results.append(_one_channel(engine, handle, case, n, repeat, batch))
            finally:
                case.stop()
    return results


def _one_channel(
    engine: Engine, handle: Any, case: Case, n: int, repeat: int, batch: int
) -> dict[str, Any]:
    bare_s: list[float] = []
    dispatch_s: list[float] = []
    channel = case.channel()
    for r in range(repeat):
        messages = plan(engine, handle.campaign_id, n, f"{case.label}-r{r}")
        bare_s.append(case.bare(messages))
        start = time.perf_counter()
        report = dispatch(
            engine,
            handle.campaign,
            handle.campaign_id,
            {case.name: channel},
            DispatchPolicy(rate_per_minute={}, batch=batch),
            channel_override=case.name,
        )
        dispatch_s.append(time.perf_counter() - start)
        assert report.sent == n, (case.label, report)
    getattr(channel, "release", lambda: None)()
    b, d = statistics.median(bare_s), statistics.median(dispatch_s)
    return {
        "channel": case.label,
        "backend": engine.dialect.name,
        "messages": n,
        "bare_s": [round(x, 3) for x in bare_s],
        "dispatch_s": [round(x, 3) for x in dispatch_s],
        "bare_msgs_per_s": round(n / b),
        "dispatch_msgs_per_s": round(n / d),
        "ratio": round(b / d, 3),
        "target_ratio": TARGET,
        "meets_target": b / d >= TARGET,
        "stand_in_received": case.received(),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--messages", type=int, default=5000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--batch", type=int, default=100)
    ap.add_argument("--channel-messages", type=int, default=300)
    ap.add_argument("--backend", action="append", choices=["sqlite", "postgresql"])
    ap.add_argument("--smoke", action="store_true", help="small and quick (< 30 s)")
    args = ap.parse_args()
    if args.smoke:
        args.messages, args.channel_messages, args.repeat = 300, 100, 1
        args.backend = args.backend or ["sqlite"]
    with tempfile.TemporaryDirectory() as tmp:
        results = [
            run(b, args.messages, args.repeat, args.batch, Path(tmp))
            for b in backends(args.backend)
        ]
        channel_results = [
            row
            for b in backends(args.backend)
            if args.channel_messages > 0  # 0: the webhook comparison alone
            for row in run_channels(b, args.channel_messages, args.repeat, args.batch, Path(tmp))
        ]
    emit(
        {
            "benchmark": "dispatch",
            "note": "dispatch = expand + claim + send + mark (one commit per message) + "
            "roll-up, rate limits off, pre-rendered texts; bare = sequential httpx POSTs of "
            "the same payloads with the same client settings; ratio = dispatch/bare throughput",
            "machine": machine(),
            "peak_rss_mb": round(peak_rss_mb(), 1),
            "results": results,
            "channels": channel_results,
        }
    )


if __name__ == "__main__":
    main()

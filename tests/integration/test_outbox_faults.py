"""The outbox survives a killed dispatcher: 2,000 messages to a flaky local webhook, the
dispatcher process SIGKILLed at five random moments and restarted each time.

At the end every delivery is sent or dead, every sent message reached the sink, and the
sink saw no more duplicates than there were kills: each send is marked in its own commit
before the next begins, so a kill can repeat only the one message that was in flight.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from random import Random
from typing import Any

import pytest
from sqlalchemy import Engine, insert, select, text

from pingan.adapters.db.base import table
from pingan.adapters.db.deliveries import DeliveryRow
from pingan.adapters.db.notifications import NotificationRow
from tests.factories import ROOT, SEED_CODE, load_seed

MESSAGES = 2000
KILLS = 5
FAIL_SHARE = 0.3
SINK_ENV = "PINGAN_FAULT_SINK"


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A SIGKILLed worker resets its connection mid-request: expected here, not news.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class Sink:
    """A local JSON webhook: fails FAIL_SHARE of requests with HTTP 500 and counts every
    accepted payload by dedupe key."""

    def __init__(self, seed: int) -> None:
        self.seed = seed  # reported in assertion messages, to replay a failure
        self.seen: Counter[str] = Counter()
        self.accepted = 0
        self.rejected = 0
        self._lock = threading.Lock()
        self._rng = Random(seed)
        sink = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as real gateways do
            # Headers and body go out in two writes: without this, Nagle and delayed ACKs
            # add 40 ms to every response.
            disable_nagle_algorithm = True

            def do_POST(self) -> None:
                data = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with sink._lock:
                    fail = sink._rng.random() < FAIL_SHARE
                    if fail:
                        sink.rejected += 1
                    else:
                        sink.seen[json.loads(data)["dedupe_key"]] += 1
                        sink.accepted += 1
                body = b'{"errcode":500}' if fail else b"{}"
                self.send_response(500 if fail else 200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = _QuietServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Sink:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def plan_bulletins(engine: Engine, campaign_id: int, count: int) -> None:
    """Every unit reachable by the sink webhook only; ``count`` pre-rendered notifications
    spread over them, as a planner would leave them in the outbox."""
    with engine.begin() as conn:
        units = [
            int(u)
            for u in conn.execute(
                text("SELECT id FROM unit WHERE campaign_id = :c ORDER BY id"), {"c": campaign_id}
            ).scalars()
        ]
        conn.execute(text("DELETE FROM contact"))
        conn.execute(
            text("INSERT INTO contact (unit_id, webhook_ref) VALUES (:u, :w)"),
            [{"u": u, "w": f"env:{SINK_ENV}"} for u in units],
        )
        conn.execute(
            insert(NotificationRow),
            [
                {
                    "campaign_id": campaign_id,
                    "dedupe_key": f"{campaign_id}:fault:{i:05d}",
                    "kind": "bulletin",
                    "recipient_unit_id": units[i % len(units)],
                    "planned_on": date(2017, 5, 22),
                    "subject": f"故障演练通报 {i}",
                    "body": f"第 {i} 号通报\n",
                }
                for i in range(count)
            ],
        )


@pytest.fixture
def sink() -> Iterator[Sink]:
    seed = int(os.environ.get("PINGAN_FAULT_SEED") or time.time_ns() % 1_000_000)
    with Sink(seed) as s:
        yield s


@pytest.mark.slow
def test_killed_dispatcher_loses_nothing_and_repeats_at_most_one_message_per_kill(
    engine: Engine, db_url: str, tmp_path: Path, sink: Sink
) -> None:
    loaded = load_seed(engine, tmp_path, cells=20)
    plan_bulletins(engine, loaded.cid, MESSAGES)
    rng = Random(sink.seed)
    env = {**os.environ, SINK_ENV: sink.url, "PYTHONPATH": str(ROOT)}
    logs = tmp_path / "workers"
    logs.mkdir()
    runs = 0

    def start() -> subprocess.Popen[bytes]:
        nonlocal runs
        runs += 1
        log = (logs / f"run-{runs}.log").open("wb")
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.integration._dispatch_worker",
                "--db",
                db_url,
                "--campaign",
                SEED_CODE,
                "--lease",
                "2",
                "--backoff",
                "0.05",
                "--batch",
                "20",
                "--deadline",
                "150",
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )

    def tail() -> str:
        return "\n".join(p.read_text(errors="replace")[-2000:] for p in sorted(logs.iterdir()))

    kills = 0
    proc = start()
    try:
        for _ in range(KILLS):
            # Kill only once this run is sending, at a random moment after that.
            baseline = sink.accepted + sink.rejected
            waited_until = time.monotonic() + 60
            while sink.accepted + sink.rejected == baseline and proc.poll() is None:
                assert time.monotonic() < waited_until, "worker sent nothing for 60 s\n" + tail()
                time.sleep(0.01)
            time.sleep(rng.uniform(0.0, 0.5))
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                proc.wait(timeout=30)
                kills += 1
            proc = start()
        rc = proc.wait(timeout=180)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)
    context = f"seed={sink.seed}, kills={kills}\n" + tail()
    assert rc == 0, context
    assert kills == KILLS, context

    d, n = table(DeliveryRow).c, table(NotificationRow).c
    with engine.connect() as conn:
        rows = conn.execute(
            select(n.dedupe_key, d.state, n.state.label("nstate"))
            .join(table(NotificationRow), n.id == d.notification_id)
            .where(d.campaign_id == loaded.cid)
        ).all()
    assert len(rows) == MESSAGES, context  # one delivery each, none lost
    assert {r.state for r in rows} <= {"sent", "dead"}, context
    assert all(r.state == r.nstate for r in rows), context
    sent = {r.dedupe_key for r in rows if r.state == "sent"}
    assert all(sink.seen[k] >= 1 for k in sent), context
    # A copy the database does not count as sent is a duplicate too.
    duplicates = sum(c - (1 if k in sent else 0) for k, c in sink.seen.items())
    print(f"kills={kills} duplicates={duplicates} runs={runs} sent={len(sent)} seed={sink.seed}")
    assert duplicates <= kills, f"{duplicates} duplicates; " + context
    assert set(sink.seen) <= {r.dedupe_key for r in rows}

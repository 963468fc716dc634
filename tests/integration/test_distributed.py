"""The distributed path: a real Prefect server on PostgreSQL, a process work pool, two
workers as separate processes, the deployments registered by `pingan deploy`, and the tick
triggered through the Prefect API against a pingan database on PostgreSQL.

Every message goes to a local JSON webhook (each unit's contact is `secret:sink`). To kill
a worker mid-run deterministically the webhook holds the first request of a run: the tick
has committed its evaluation and plan and is inside delivery, a batch of deliveries leased
to it. The worker's process group and the flow-run process are then SIGKILLed, as if the
machine had died. The server's "heartbeats stopped" automation (created by `pingan deploy
--crash-after`) marks the run Crashed; the next run of the same day completes on the other
worker and the database equals an uninterrupted run's: the same obligation statuses, the
same notifications, every dedupe key once. The dead worker's lease runs 300 s; the test then
dispatches with a clock moved past it (as the dispatch deployment will, once it expires) and
the webhook has acknowledged every message exactly once.

Needs PINGAN_TEST_DATABASE_URL (PostgreSQL): the Prefect server gets a database of its own
(prefect_test_<hex>, dropped afterwards), pingan a schema in the test database.
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from pingan.adapters.db.base import utcnow
from pingan.adapters.db.session import make_engine
from pingan.services.load import load
from pingan.services.tick import evaluate_and_plan, open_campaign
from tests.conftest import PG_SKIP_REASON, PG_URL
from tests.factories import ROOT, SEED_CODE, SEED_CONFIG, key_sql, seed_campaign, synth_roster

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

PYTHON = sys.executable
PREFECT = str(Path(sys.executable).with_name("prefect"))
POOL = "pingan-test"
TICK = f"pingan-tick/{SEED_CODE}"
HEARTBEAT_S = 30  # Prefect's minimum
CRASH_AFTER_S = 40  # > HEARTBEAT_S, so a healthy run is never marked crashed
LEASE_S = 300  # pingan.core.delivery.DispatchPolicy.lease_s, the default delivery lease
SINK_SECRET = "secret:sink"
QUIET = {"PREFECT_SERVER_ANALYTICS_ENABLED": "false", "DO_NOT_TRACK": "1"}
# Lead units and the coordinator also get their messages at the sink.
NAMED_UNITS = ("zzw", "jdjb", "xcwsy", "jdfl", "ajb")

DEPLOY_OPTIONS = ("--pool", POOL, "--crash-after", str(CRASH_AFTER_S))
DEPLOY_CLI = (
    "import typer; from pingan.cli.deploy import register; "
    "app = typer.Typer(add_completion=False, pretty_exceptions_enable=False); "
    "register(app); app()"
)


# --- the webhook ---------------------------------------------------------------------------


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class Sink:
    """Counts every message by dedupe key: received, and acknowledged with a 200. Asked to,
    it holds the next request until released and never acknowledges it (its sender is
    dead by then)."""

    def __init__(self) -> None:
        self.received: Counter[str] = Counter()
        self.acked: Counter[str] = Counter()
        self.held = threading.Event()
        self.held_key: str | None = None
        self._hold_next = False
        self._release = threading.Event()
        self._lock = threading.Lock()
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                key = str(json.loads(body)["dedupe_key"])
                with sink._lock:
                    sink.received[key] += 1
                    hold, sink._hold_next = sink._hold_next, False
                if hold:
                    sink.held_key = key
                    sink.held.set()
                    sink._release.wait(300)
                    return  # no reply: the connection belongs to a dead process
                with sink._lock:
                    sink.acked[key] += 1
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = _QuietServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def hold_next(self) -> None:
        self.held.clear()
        self._hold_next = True

    def release(self) -> None:
        self._release.set()

    def stop(self) -> None:
        self.release()
        self.server.shutdown()
        self.server.server_close()


# --- processes ------------------------------------------------------------------------------


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def tail(self, lines: int = 60) -> str:
        try:
            text_ = self.log.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return f"--- {self.name} ({self.log}) ---\n" + "\n".join(text_.splitlines()[-lines:])


@dataclass
class Procs:
    """Every process the test starts, each in its own session, so that a whole group can be
    killed (a worker and what it spawned) and nothing outlives the test."""

    directory: Path
    started: list[Proc] = field(default_factory=list)
    strays: set[int] = field(default_factory=set)  # flow-run processes (own sessions)

    def start(self, name: str, argv: list[str], env: dict[str, str], cwd: Path) -> Proc:
        log = self.directory / f"{name}.log"
        with log.open("wb") as out:
            popen = subprocess.Popen(
                argv, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        proc = Proc(name, popen, log)
        self.started.append(proc)
        return proc

    def kill_group(self, pid: int, sig: signal.Signals = signal.SIGKILL) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(os.getpgid(pid), sig)

    def stop_all(self) -> None:
        for pid in self.strays:
            self.kill_group(pid)
        for p in reversed(self.started):
            if p.alive():
                self.kill_group(p.pid, signal.SIGTERM)
        deadline = time.monotonic() + 15
        for p in reversed(self.started):
            with contextlib.suppress(subprocess.TimeoutExpired):
                p.popen.wait(timeout=max(deadline - time.monotonic(), 0.1))
            if p.alive():
                self.kill_group(p.pid)
                p.popen.wait(timeout=10)

    def logs(self) -> str:
        return "\n".join(p.tail() for p in self.started)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(what: str, check: Callable[[], bool], timeout: float, procs: Procs) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.25)
    pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}\n{procs.logs()}")


def parent_of(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[1])


# --- databases ------------------------------------------------------------------------------


def schema_url(base: str, schema: str) -> str:
    sep = "&" if "?" in base else "?"
    return f"{base}{sep}options=-csearch_path%3D{schema}"


@contextlib.contextmanager
def pg_schema(admin: Engine, base: str) -> Iterator[str]:
    schema = f"dist_{uuid.uuid4().hex[:10]}"
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield schema_url(base, schema)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))


@contextlib.contextmanager
def prefect_database(admin: Engine) -> Iterator[str]:
    name = f"prefect_test_{uuid.uuid4().hex[:10]}"
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(str(PG_URL)).set(drivername="postgresql+asyncpg", database=name, query={})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def webhook_roster(directory: Path) -> Path:
    """The synthetic roster with every contact replaced by the sink, plus the named units."""
    rows = list(csv.DictReader(synth_roster(directory, 20).open(encoding="utf-8")))
    names = {u.code: u.name for u in seed_campaign().units}
    names["zzw"] = seed_campaign().coordinator.name
    for code in NAMED_UNITS:
        rows.append({"code": code, "name": names[code], "type": "unit"})
    path = directory / "roster-webhook.csv"
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        for row in rows:
            writer.writerow(
                {**row, "email": "", "wecom": "", "dingtalk": "", "webhook": SINK_SECRET}
            )
    return path


# --- the cluster ----------------------------------------------------------------------------


@dataclass
class Cluster:
    api: str
    engine: Engine  # the workers' pingan database
    admin: Engine
    roster: Path
    sink: Sink
    procs: Procs
    workers: list[Proc]
    history: list[date] = field(default_factory=list)  # as_of of every tick that committed

    def client(self) -> Any:
        from prefect.client.orchestration import get_client

        return get_client(sync_client=True)

    def settings(self) -> Any:
        from prefect.settings import PREFECT_API_URL, temporary_settings

        return temporary_settings(updates={PREFECT_API_URL: self.api})

    def run_tick(self, as_of: date) -> UUID:
        from prefect.deployments import run_deployment

        params = {"campaign": SEED_CODE, "as_of": as_of.isoformat(), "respect_quiet_hours": False}
        with self.settings():
            run = run_deployment(TICK, parameters=params, timeout=0)
        return run.id

    def flow_run(self, run_id: UUID) -> Any:
        with self.settings(), self.client() as client:
            return client.read_flow_run(run_id)

    def wait_final(self, run_id: UUID, timeout: float = 120) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            run = self.flow_run(run_id)
            if run.state is not None and run.state.is_final():
                return run
            time.sleep(0.5)
        pytest.fail(f"flow run {run_id} not final after {timeout:.0f} s\n{self.procs.logs()}")

    def rows(self, sql: str) -> list[Any]:
        with self.engine.connect() as conn:
            return list(conn.execute(text(sql)))


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    if not PG_URL:
        pytest.skip(PG_SKIP_REASON)
    work = tmp_path_factory.mktemp("distributed")
    procs = Procs(work)
    sink = Sink()
    admin = create_engine(PG_URL)
    with contextlib.ExitStack() as stack:
        stack.callback(admin.dispose)
        stack.callback(sink.stop)
        prefect_db = stack.enter_context(prefect_database(admin))
        pingan_url = stack.enter_context(pg_schema(admin, PG_URL))
        stack.callback(procs.stop_all)  # runs first: no process holds a database any more
        port = free_port()
        api = f"http://127.0.0.1:{port}/api"
        base_env = {**os.environ, **QUIET, "PREFECT_HOME": str(work / "prefect-home")}
        base_env.pop("PREFECT_API_URL", None)
        server = procs.start(
            "server",
            [PREFECT, "server", "start", "--host", "127.0.0.1", "--port", str(port)],
            {
                **base_env,
                "PREFECT_API_DATABASE_CONNECTION_URL": prefect_db,
                "PREFECT_UI_ENABLED": "false",
                "PREFECT_SERVER_EVENTS_PROACTIVE_GRANULARITY": "PT2S",
            },
            work,
        )
        # The pingan database loads while the server starts.
        engine = make_engine(pingan_url)
        stack.callback(engine.dispose)
        roster = webhook_roster(work)
        load(engine, SEED_CONFIG, roster, actor="test")

        def healthy() -> bool:
            assert server.alive(), procs.logs()
            try:
                return httpx.get(f"{api}/health", timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        wait_for("the Prefect server", healthy, 120, procs)
        client_env = {**base_env, "PREFECT_API_URL": api}
        deploy = subprocess.run(
            [PYTHON, "-c", DEPLOY_CLI, "deploy", str(SEED_CONFIG), *DEPLOY_OPTIONS],
            env=client_env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=180,
        )
        assert deploy.returncode == 0, deploy.stdout + deploy.stderr
        workers = [
            procs.start(
                f"worker-{n}",
                [PREFECT, "worker", "start", "--pool", POOL, "--limit", "1", "--name", f"w{n}"],
                {
                    **client_env,
                    "PINGAN_DATABASE_URL": pingan_url,
                    "PINGAN_HOME": str(work / f"home-{n}"),
                    "PINGAN_SECRET_SINK": sink.url,
                    "PREFECT_FLOWS_HEARTBEAT_FREQUENCY": str(HEARTBEAT_S),
                    "PREFECT_WORKER_QUERY_SECONDS": "1",
                },
                work,  # not the project: the deployments' pull step must find it
            )
            for n in (1, 2)
        ]
        yield Cluster(api, engine, admin, roster, sink, procs, workers)


# --- what an uninterrupted run leaves -------------------------------------------------------

OBLIGATIONS = """
    SELECT g.key, u.code, o.status, o.status_as_of, o.days_overdue, o.escalation_level,
           o.notified_level
    FROM obligation o JOIN gate g ON g.id = o.gate_id JOIN unit u ON u.id = o.unit_id
"""
# Alerts are left out: the shipped automation tells the coordinator's office of the crashed
# run (issue 16), which an uninterrupted run has no reason to do.
NOTIFICATIONS = """
    SELECT n.kind, n.level, r.code, g.key, u.code, n.planned_on
    FROM notification n JOIN unit r ON r.id = n.recipient_unit_id
    LEFT JOIN obligation o ON o.id = n.obligation_id
    LEFT JOIN gate g ON g.id = o.gate_id LEFT JOIN unit u ON u.id = o.unit_id
    WHERE n.kind <> 'alert'
"""


def snapshot(engine: Engine) -> tuple[list[Any], Counter[tuple[Any, ...]]]:
    with engine.connect() as conn:
        obligations = sorted(tuple(r) for r in conn.execute(text(OBLIGATIONS)))
        notifications = Counter(tuple(r) for r in conn.execute(text(NOTIFICATIONS)))
    return obligations, notifications


def uninterrupted(cluster: Cluster) -> tuple[list[Any], Counter[tuple[Any, ...]]]:
    """The same roster loaded afresh and ticked in-process for the same days."""
    with pg_schema(cluster.admin, str(PG_URL)) as url:
        engine = make_engine(url)
        try:
            load(engine, SEED_CONFIG, cluster.roster, actor="test")
            handle = open_campaign(engine, SEED_CODE)
            for day in cluster.history:
                evaluate_and_plan(engine, handle, day)
            return snapshot(engine)
        finally:
            engine.dispose()


def duplicate_dedupe_keys(cluster: Cluster) -> list[Any]:
    key = key_sql()
    return cluster.rows(f"SELECT {key}, count(*) FROM notification GROUP BY 1 HAVING count(*) > 1")


# --- the tests ------------------------------------------------------------------------------


def test_tick_deployment_runs_on_a_worker_and_updates_the_pingan_database(
    cluster: Cluster,
) -> None:
    before = cluster.rows("SELECT count(*) FROM notification")[0][0]

    run = cluster.wait_final(cluster.run_tick(date(2017, 5, 10)))
    cluster.history.append(date(2017, 5, 10))

    assert run.state.is_completed(), f"{run.state}\n{cluster.procs.logs()}"
    obligations, notifications = snapshot(cluster.engine)
    assert {o[3] for o in obligations} == {date(2017, 5, 10)}  # every obligation evaluated
    assert {o[2] for o in obligations if o[0] == "local-plan"} == {"due_soon"}
    assert before == 0 and sum(notifications.values()) > 0
    assert (obligations, notifications) == uninterrupted(cluster)
    # Delivered through the worker to the webhook, each message once.
    states = cluster.rows("SELECT state, count(*) FROM delivery GROUP BY state")
    assert dict(states) == {"sent": sum(notifications.values())}
    assert set(cluster.sink.acked.values()) == {1}


def test_a_worker_killed_mid_tick_leaves_a_crashed_run_and_the_next_run_recovers(
    cluster: Cluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    day = date(2017, 5, 12)  # band-1 reminders of the plan gates due Monday 05-15
    cluster.sink.hold_next()

    killed = cluster.run_tick(day)
    assert cluster.sink.held.wait(120), f"no message reached the sink\n{cluster.procs.logs()}"
    # The tick is now inside delivery, its evaluation and plan committed: kill its machine.
    run = cluster.flow_run(killed)
    flow_pid = int(str(run.infrastructure_pid).rsplit(":", 1)[-1])
    worker = next(w for w in cluster.workers if w.alive() and _descends(flow_pid, w.pid))
    cluster.procs.strays.add(flow_pid)
    cluster.procs.kill_group(flow_pid)
    cluster.procs.kill_group(worker.pid)
    worker.popen.wait(timeout=10)
    cluster.history.append(day)

    crashed = cluster.wait_final(killed, timeout=CRASH_AFTER_S + 60)
    assert crashed.state.is_crashed(), f"{crashed.state}\n{cluster.procs.logs()}"
    assert "心跳" in str(crashed.state.message)  # marked by pingan deploy's automation
    stranded = cluster.rows("SELECT count(*) FROM delivery WHERE state = 'leased'")[0][0]
    assert stranded > 0  # the killed run held a batch when it died

    cluster.sink.release()
    rerun = cluster.wait_final(cluster.run_tick(day))

    assert rerun.state.is_completed(), f"{rerun.state}\n{cluster.procs.logs()}"
    assert duplicate_dedupe_keys(cluster) == []
    assert snapshot(cluster.engine) == uninterrupted(cluster)

    # The dead worker's deliveries come back when its lease runs out, exactly once each.
    from pingan import root
    from pingan.services.dispatch import run_dispatch

    monkeypatch.setenv("PINGAN_SECRET_SINK", cluster.sink.url)
    monkeypatch.setenv("PINGAN_HOME", str(cluster.procs.directory / "home-test"))
    root.reset()
    later = utcnow() + timedelta(seconds=LEASE_S + 1)
    c = root.container()
    run_dispatch(
        cluster.engine,
        open_campaign(cluster.engine, SEED_CODE),
        c.delivery(),
        c.settings,
        now_fn=lambda: later,
        respect_quiet_hours=False,
    )
    root.reset()
    planned = cluster.rows("SELECT count(*) FROM notification")[0][0]
    assert dict(cluster.rows("SELECT state, count(*) FROM delivery GROUP BY state")) == {
        "sent": planned
    }
    assert len(cluster.sink.acked) == planned
    assert set(cluster.sink.acked.values()) == {1}
    # Only the message in flight at the kill reached the webhook twice.
    repeats = {k: n for k, n in cluster.sink.received.items() if n > 1}
    assert repeats == {cluster.sink.held_key: 2}


def _descends(pid: int, ancestor: int) -> bool:
    while pid and pid != 1:
        if pid == ancestor:
            return True
        parent = parent_of(pid)
        if parent is None:
            return False
        pid = parent
    return False

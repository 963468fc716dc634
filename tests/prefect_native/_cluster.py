"""A real Prefect server (`prefect server start`, its own SQLite), a process work pool with
one worker, and a pingan database on SQLite holding two campaigns — for the tests that need
what only a server does: deployments, parameters merged by the server, automations."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import pytest
from sqlalchemy import Engine, text

PYTHON = sys.executable
PREFECT = str(Path(sys.executable).with_name("prefect"))
ROOT = Path(__file__).resolve().parents[2]
QUIET = {"PREFECT_SERVER_ANALYTICS_ENABLED": "false", "DO_NOT_TRACK": "1"}
CLI = (
    "import typer; from pingan.cli.deploy import register; "
    "app = typer.Typer(add_completion=False, pretty_exceptions_enable=False); "
    "register(app); app()"
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Procs:
    """Every process started, each in its own session so a whole group can be stopped."""

    directory: Path
    started: list[tuple[str, subprocess.Popen[bytes], Path]] = field(default_factory=list)

    def start(self, name: str, argv: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        log = self.directory / f"{name}.log"
        with log.open("wb") as out:
            popen = subprocess.Popen(
                argv,
                env=env,
                cwd=self.directory,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.started.append((name, popen, log))
        return popen

    def stop_all(self) -> None:
        for _, p, _ in reversed(self.started):
            if p.poll() is None:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(os.getpgid(p.pid), signal.SIGTERM)
        for _, p, _ in reversed(self.started):
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(os.getpgid(p.pid), signal.SIGKILL)
                p.wait(timeout=10)

    def logs(self, lines: int = 60) -> str:
        out = []
        for name, _, log in self.started:
            body = log.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:]
            out.append(f"--- {name} ---\n" + "\n".join(body))
        return "\n".join(out)


def wait_for(what: str, check: Callable[[], bool], timeout: float, procs: Procs) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.5)
    pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}\n{procs.logs()}")


@dataclass
class Cluster:
    api: str
    engine: Engine
    outbox: Path
    procs: Procs
    env: dict[str, str]

    def settings(self) -> Any:
        from prefect.settings import PREFECT_API_URL, temporary_settings

        return temporary_settings(updates={PREFECT_API_URL: self.api})

    def deploy(self, config: Path, *options: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [PYTHON, "-c", CLI, "deploy", str(config), *options],
            env=self.env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=300,
        )

    def run(self, deployment: str, parameters: dict[str, Any]) -> UUID:
        from prefect.deployments import run_deployment

        with self.settings():
            return run_deployment(deployment, parameters=parameters, timeout=0).id

    def flow_run(self, run_id: UUID) -> Any:
        from prefect.client.orchestration import get_client

        with self.settings(), get_client(sync_client=True) as client:
            return client.read_flow_run(run_id)

    def wait_final(self, run_id: UUID, timeout: float = 180) -> Any:
        result: list[Any] = []

        def final() -> bool:
            run = self.flow_run(run_id)
            result[:] = [run]
            return run.state is not None and run.state.is_final()

        wait_for(f"flow run {run_id}", final, timeout, self.procs)
        return result[0]

    def rows(self, sql: str) -> list[Any]:
        with self.engine.connect() as conn:
            return list(conn.execute(text(sql)))


@contextlib.contextmanager
def running_cluster(work: Path, engine: Engine, db_url: str, pool: str) -> Iterator[Cluster]:
    procs = Procs(work)
    port = free_port()
    api = f"http://127.0.0.1:{port}/api"
    base = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "PINGAN_"))}
    base |= {**QUIET, "PREFECT_HOME": str(work / "prefect-home")}
    try:
        server = procs.start(
            "server",
            [PREFECT, "server", "start", "--host", "127.0.0.1", "--port", str(port)],
            {**base, "PREFECT_UI_ENABLED": "false"},
        )

        def healthy() -> bool:
            assert server.poll() is None, procs.logs()
            try:
                return httpx.get(f"{api}/health", timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        wait_for("the Prefect server", healthy, 120, procs)
        outbox = work / "outbox.jsonl"
        env = {
            **base,
            "PREFECT_API_URL": api,
            "PINGAN_DATABASE_URL": db_url,
            "PINGAN_HOME": str(work / "pingan-home"),
            "PINGAN_CHANNEL_OVERRIDE": "file",
            "PINGAN_OUTBOX_FILE": str(outbox),
        }
        cluster = Cluster(api, engine, outbox, procs, env)
        yield cluster
    finally:
        procs.stop_all()


def start_worker(cluster: Cluster, pool: str) -> None:
    cluster.procs.start(
        "worker",
        [PREFECT, "worker", "start", "--pool", pool, "--limit", "2", "--name", "w1"],
        {**cluster.env, "PREFECT_WORKER_QUERY_SECONDS": "1"},
    )

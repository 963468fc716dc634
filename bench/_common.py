"""Shared helpers for benchmarks: fresh databases, timing, peak memory, JSON output."""

from __future__ import annotations

import json
import os
import platform
import resource
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Engine, create_engine, text

from pingan.adapters.db.session import make_engine

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "config" / "campaigns" / "xucheng-2017.yaml"
T = TypeVar("T")


def pg_url() -> str | None:
    return os.environ.get("PINGAN_BENCH_PG_URL") or os.environ.get("PINGAN_TEST_DATABASE_URL")


@contextmanager
def fresh_database(backend: str, workdir: Path) -> Iterator[Engine]:
    """An empty SQLite file, or a throw-away schema on PostgreSQL."""
    if backend == "sqlite":
        path = workdir / f"bench-{uuid.uuid4().hex[:8]}.db"
        engine = make_engine(f"sqlite:///{path}")
        try:
            yield engine
        finally:
            engine.dispose()
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
        return
    url = pg_url()
    assert url, "PostgreSQL URL missing"
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in url else "?"
    engine = make_engine(f"{url}{sep}options=-csearch_path%3D{schema}")
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def timed(fn: Callable[[], T]) -> tuple[float, T]:
    start = time.perf_counter()
    value = fn()
    return time.perf_counter() - start, value


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def backends(requested: list[str] | None) -> list[str]:
    wanted = requested or ["sqlite", "postgresql"]
    return [b for b in wanted if b == "sqlite" or pg_url()]


def machine() -> dict[str, Any]:
    return {
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
    }


def emit(payload: dict[str, Any]) -> None:
    json.dump(payload, sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")


def wait_healthy(base: str, process: Any, log: Path, what: str, limit_s: float = 60) -> None:
    """Wait until ``base``/healthz answers 200; RuntimeError with the log if ``process`` dies
    or ``limit_s`` passes first."""
    import httpx

    deadline = time.monotonic() + limit_s
    while True:
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not start: {log.read_text(errors='replace')}")
        time.sleep(0.1)


def stop_process(process: Any) -> None:
    """SIGINT, then kill after 30 s."""
    import signal
    import subprocess

    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()

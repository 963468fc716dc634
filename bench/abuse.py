"""Abuse check (issue 17): what an attacker or a careless user can do to pingan, measured.

1. Input bombs, each `pingan` command run as its own process under a hard timeout and an
   address-space rlimit (so this script can never hang or eat the machine): `validate
   /dev/zero`, a 260-byte YAML alias bomb, a 4 MB roster line of 2 million columns, and a
   50 MB campaign file. Figures: wall time, the child's own peak RSS (wait4), exit code,
   whether it was refused cleanly (exit 2, a Chinese message, no traceback).
2. A burst of concurrent uploads against a running portal (its own process, served exactly
   as `pingan.portal.server` serves it): /healthz latency from a separate prober process
   with a fresh connection every 20 ms, and accepted (200) vs told to retry (503) counts.
3. A slow-connection hold (slowloris): K connections that send a partial request line and
   then one byte a second; how many the server cut off, and /healthz during the hold.

Usage: python bench/abuse.py [--uploads 300] [--slow 100] [--bomb-timeout 30]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import resource
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import httpx  # noqa: E402
from _common import ROOT, SEED, emit, fresh_database, machine, stop_process, wait_healthy  # noqa: E402

from pingan.core.campaign import load_campaign  # noqa: E402
from pingan.core.links import LinkClaims, sign  # noqa: E402
from pingan.services.load import load  # noqa: E402
from pingan.services.synth import write_roster  # noqa: E402

SECRET = "bench-abuse-secret-" + "0" * 24
CODE = "xucheng-2017"
MEMORY_LIMIT = 1024**3  # address space per bomb: the kernel stops it, not the machine
TARGET_S, TARGET_MB = 2.0, 200
FILE_BYTES = 64 * 1024
YAML_BOMB = (
    'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    "b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
    "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
    "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
    "e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n"
    "f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\n"
    "g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\n"
)


# --- 1. bombs --------------------------------------------------------------------------


def _limit_memory() -> None:  # runs in the child, before exec
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def run_bomb(args: list[str], timeout_s: float, env: dict[str, str]) -> dict[str, Any]:
    """One `pingan` command as a child process; its own rusage via wait4."""
    started = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, "-m", "pingan.cli.app", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        preexec_fn=_limit_memory,
        start_new_session=True,
    )
    assert child.stderr is not None
    os.set_blocking(child.stderr.fileno(), False)
    stderr, timed_out = b"", False
    while True:
        pid, status, usage = os.wait4(child.pid, os.WNOHANG)
        stderr += (child.stderr.read(65536) or b"")[: 65536 - len(stderr)]
        if pid:
            break
        if time.perf_counter() - started > timeout_s:
            timed_out = True
            os.killpg(child.pid, signal.SIGKILL)
            pid, status, usage = os.wait4(child.pid, 0)
            break
        time.sleep(0.02)
    child.returncode = os.waitstatus_to_exitcode(status)  # already reaped
    text = stderr.decode("utf-8", "replace")
    code = child.returncode
    return {
        "seconds": round(time.perf_counter() - started, 2),
        "peak_mb": round(usage.ru_maxrss / 1024, 1),
        "exit_code": code,
        "timed_out": timed_out,
        "traceback": "Traceback" in text,
        "refused_cleanly": code == 2 and "Traceback" not in text and _has_cjk(text),
        "message": text.strip().splitlines()[-1][:160] if text.strip() else "",
    }


def _has_cjk(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


def bombs(workdir: Path, timeout_s: float) -> list[dict[str, Any]]:
    (workdir / "alias-bomb.yaml").write_text(YAML_BOMB, encoding="utf-8")
    with (workdir / "wide.csv").open("w", encoding="utf-8") as out:
        out.write("code,name," + ",".join("x" for _ in range(2_000_000)) + "\n")
    with (workdir / "big.yaml").open("w", encoding="utf-8") as out:
        line = "# " + "平安" * 40 + "\n"
        for _ in range(50 * 1024 * 1024 // len(line.encode())):
            out.write(line)
    db = f"sqlite:///{workdir / 'bombs.db'}"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PINGAN_HOME": str(workdir / "home")}
    cases = [
        ("`pingan validate /dev/zero`", ["validate", "/dev/zero"]),
        ("`pingan validate` of a 260-byte YAML alias bomb", ["validate", "alias-bomb.yaml"]),
        ("`pingan validate` of a 50 MB campaign file", ["validate", "big.yaml"]),
        (
            "`pingan load` of a 4 MB roster line with 2,000,000 columns",
            ["load", str(SEED), "--roster", "wide.csv", "--db", db],
        ),
    ]
    results = []
    for name, args in cases:
        args = [str(workdir / a) if a.endswith((".yaml", ".csv")) else a for a in args]
        results.append({"bomb": name, **run_bomb(args, timeout_s, env)})
    return results


# --- a running portal ------------------------------------------------------------------


def serve(port: int, db: str, home: Path, header_timeout_s: float) -> None:
    """The portal process: the app and server limits `pingan portal` uses."""
    from pingan.adapters.db.session import ensure_schema, make_engine
    from pingan.portal.app import create_app
    from pingan.portal.config import PortalConfig
    from pingan.portal.ratelimit import Rate
    from pingan.portal.server import ServerLimits, bind
    from pingan.portal.server import serve as run
    from pingan.root.settings import Settings

    engine = make_engine(db)
    ensure_schema(engine)
    settings = Settings(home=home, portal_secret=SECRET)
    unlimited = Rate(0, 0)  # every request comes from 127.0.0.1 here
    config = PortalConfig.from_settings(settings, token_rate=unlimited, address_rate=unlimited)
    run(
        create_app(engine, config),
        bind("127.0.0.1", port),
        ServerLimits(header_timeout_s=header_timeout_s),
    )


class Portal:
    def __init__(self, db: str, workdir: Path, header_timeout_s: float) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = int(s.getsockname()[1])
        self.address = ("127.0.0.1", self.port)
        self.base = f"http://127.0.0.1:{self.port}"
        command = [sys.executable, str(Path(__file__).resolve()), "--serve", str(self.port)]
        command += ["--db", db, "--home", str(workdir / "home"), "--header-timeout"]
        env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONWARNINGS": "ignore"}
        self.log = workdir / "portal.log"
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                [*command, str(header_timeout_s)], env=env, stdout=out, stderr=subprocess.STDOUT
            )
        wait_healthy(self.base, self.process, self.log, "portal")

    def stop(self) -> None:
        stop_process(self.process)


def health_latency(address: tuple[str, int]) -> float:
    started = time.perf_counter()
    with socket.create_connection(address, timeout=30) as s:
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: portal\r\nConnection: close\r\n\r\n")
        if not s.recv(64).startswith(b"HTTP/1.1 200"):
            return float("inf")
    return time.perf_counter() - started


def prober(address: tuple[str, int], ready: Any, stop: Any, out: Any) -> None:
    health_latency(address)  # warm-up, not counted
    ready.set()
    latencies = []
    while not stop.is_set():
        latencies.append(health_latency(address))
        time.sleep(0.02)
    out.put(latencies)


def probing(address: tuple[str, int]) -> tuple[Any, Any, Any]:
    context = multiprocessing.get_context("spawn")
    out, ready, stop = context.Queue(), context.Event(), context.Event()
    process = context.Process(target=prober, args=(address, ready, stop, out))
    process.start()
    if not ready.wait(timeout=120):
        raise RuntimeError("the /healthz prober did not start")
    return process, stop, out


def finish(probe: tuple[Any, Any, Any]) -> dict[str, float]:
    process, stop, out = probe
    stop.set()
    latencies = sorted(out.get(timeout=60))
    process.join(timeout=30)
    return {
        "health_checks": len(latencies),
        "health_p50_ms": round(statistics.median(latencies) * 1000, 1),
        "health_p95_ms": round(latencies[int(len(latencies) * 0.95)] * 1000, 1),
        "health_max_ms": round(latencies[-1] * 1000, 1),
    }


# --- 2. the burst ----------------------------------------------------------------------


async def upload_burst(base: str, tokens: list[str]) -> list[Any]:
    limits = httpx.Limits(max_connections=len(tokens), max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=120) as client:

        async def one(i: int, token: str) -> Any:
            body = b"%PDF-1.4\n%" + str(i).encode() + b"\n" + b"0" * FILE_BYTES + b"\n%%EOF\n"
            try:
                r = await client.post(
                    f"/u/{token}",
                    data={"gate": "self-check"},
                    files={"file": (f"自查报告{i}.pdf", body, "application/pdf")},
                )
            except httpx.HTTPError as exc:
                return type(exc).__name__
            return r.status_code

        return await asyncio.gather(*(one(i, t) for i, t in enumerate(tokens)))


def burst(portal: Portal, tokens: list[str]) -> dict[str, Any]:
    probe = probing(portal.address)
    started = time.perf_counter()
    statuses = asyncio.run(upload_burst(portal.base, tokens))
    seconds = time.perf_counter() - started
    return {
        "uploads": len(tokens),
        "seconds": round(seconds, 2),
        "accepted": statuses.count(200),
        "told_to_retry": statuses.count(503),
        "other": len(statuses) - statuses.count(200) - statuses.count(503),
        **finish(probe),
    }


# --- 3. the slow-connection hold -------------------------------------------------------


def slowloris(portal: Portal, connections: int, hold_s: float) -> dict[str, Any]:
    socks = []
    for _ in range(connections):
        s = socket.create_connection(portal.address, timeout=5)
        s.sendall(b"POST /u/x HTTP/1.1\r\nHost: portal\r\n")
        s.setblocking(False)
        socks.append(s)
    probe = probing(portal.address)
    closed: set[int] = set()
    started = time.monotonic()
    while time.monotonic() - started < hold_s:
        for i, s in enumerate(socks):
            if i in closed:
                continue
            try:
                s.send(b"X")  # one byte of a header that never ends
                if s.recv(1024) == b"":
                    closed.add(i)
            except BlockingIOError:
                continue
            except OSError:
                closed.add(i)
        time.sleep(1.0)
    for s in socks:
        s.close()
    return {
        "connections": connections,
        "hold_s": hold_s,
        "cut_off_by_server": len(closed),
        **finish(probe),
    }


# --- main ------------------------------------------------------------------------------


def attacks(uploads: int, slow: int, header_timeout_s: float, workdir: Path) -> dict[str, Any]:
    roster = workdir / "roster.csv"
    write_roster(load_campaign(SEED), max(uploads, 20), 2017, roster)
    with fresh_database("sqlite", workdir) as engine:
        load(engine, SEED, roster, actor="bench")
        from sqlalchemy import text

        with engine.connect() as conn:
            codes = list(
                conn.execute(
                    text("SELECT code FROM unit WHERE kind = 'cell' ORDER BY id")
                ).scalars()
            )
        expires = datetime.now(UTC) + timedelta(days=1)
        tokens = [
            sign(LinkClaims(CODE, codes[i % len(codes)], 1, expires), SECRET)
            for i in range(uploads)
        ]
        portal = Portal(engine.url.render_as_string(hide_password=False), workdir, header_timeout_s)
        try:
            return {
                "burst": burst(portal, tokens),
                "slowloris": slowloris(portal, slow, header_timeout_s + 3),
            }
        finally:
            portal.stop()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--uploads", type=int, default=300)
    ap.add_argument("--slow", type=int, default=100)
    ap.add_argument("--bomb-timeout", type=float, default=30.0)
    ap.add_argument("--header-timeout", type=float, default=10.0)
    ap.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--db", help=argparse.SUPPRESS)
    ap.add_argument("--home", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve:
        serve(args.serve, args.db, args.home, args.header_timeout)
        return
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        results = {
            "bombs": bombs(workdir, args.bomb_timeout),
            **attacks(args.uploads, args.slow, args.header_timeout, workdir),
        }
    emit(
        {
            "benchmark": "abuse",
            "note": "bombs: each command a child process (timeout, 1 GiB address-space rlimit), "
            "peak RSS from wait4; burst and slowloris against one portal process on loopback, "
            "/healthz probed from a separate process with a fresh connection every 20 ms",
            "targets": {"bomb_seconds": TARGET_S, "bomb_peak_mb": TARGET_MB, "health_ms": 200},
            "machine": machine(),
            **results,
        }
    )


if __name__ == "__main__":
    main()

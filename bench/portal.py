"""Portal load check: C concurrent uploads of small PDFs, each from its own cell's personal
link, against one `pingan portal` process on loopback; vs the same uploads to a trivial
FastAPI/uvicorn process that only parses the multipart form and writes the bytes to a file.

Both servers are single uvicorn processes started the same way (access log off); the client
(one httpx.AsyncClient, up to C connections) and the payloads are the same. The portal does
what a real upload costs: token check, rate limits, streaming to a spool file, the inbox's
checks (type by content, name, size), content-addressed store with fsync, one transaction
(submission, file, obligation, audit) and the receipt page. Baseline and portal rounds
alternate --repeat times; medians are compared. After the run every upload must be recorded
exactly once (one file row and one audit row per upload, every obligation done): none lost.

The per-address rate limit is switched off (--rate-per-address 0): every request comes from
127.0.0.1, where in the field each cell has its own address. The per-link limit stays on.

Usage: python bench/portal.py [--uploads 200] [--repeat 3] [--backend sqlite]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import httpx  # noqa: E402
from _common import ROOT, SEED, backends, emit, fresh_database, machine, stop_process, wait_healthy  # noqa: E402
from fastapi import FastAPI, Request  # noqa: E402
from fastapi.responses import HTMLResponse  # noqa: E402
from sqlalchemy import Engine, text  # noqa: E402

from pingan.core.campaign import load_campaign  # noqa: E402
from pingan.core.links import LinkClaims, sign  # noqa: E402
from pingan.services.load import load  # noqa: E402
from pingan.services.synth import write_roster  # noqa: E402

SECRET = "bench-portal-secret-" + "0" * 24
CODE = "xucheng-2017"
WARMUP = 10


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def baseline_app(directory: Path) -> FastAPI:
    """What any upload endpoint must at least do: parse the form, keep the bytes."""
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)

    @app.get("/healthz")
    def healthz() -> HTMLResponse:
        return HTMLResponse("ok")

    @app.post("/u/{token}")
    async def upload(request: Request, token: str) -> HTMLResponse:
        form = await request.form()
        file = form["file"]
        data = await file.read()  # type: ignore[union-attr]
        (directory / uuid.uuid4().hex).write_bytes(data)
        return HTMLResponse("<h1>ok</h1>")

    return app


def serve_baseline(port: int, directory: Path) -> None:
    import uvicorn

    directory.mkdir(parents=True, exist_ok=True)
    uvicorn.run(
        baseline_app(directory),
        host="127.0.0.1",
        port=port,
        access_log=False,
        log_level="warning",
        server_header=False,
    )


class Server:
    def __init__(self, command: list[str], env: dict[str, str], log: Path) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        with log.open("wb") as out:
            self.process = subprocess.Popen(
                [*command, "--port", str(self.port)],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        wait_healthy(self.base, self.process, log, "server")

    def stop(self) -> None:
        stop_process(self.process)


def pdf(i: int) -> bytes:
    # Small but not trivial: a few KB, distinct content per upload.
    return b"%PDF-1.4\n%" + f"自查报告 {i} ".encode() * 200 + b"\n%%EOF\n"


async def burst(base: str, tokens: list[str], offset: int) -> tuple[float, list[float], int]:
    """All uploads at once; (wall seconds, per-request latencies, responses that were OK)."""
    limits = httpx.Limits(max_connections=len(tokens), max_keepalive_connections=len(tokens))
    async with httpx.AsyncClient(timeout=120, limits=limits) as client:

        async def one(i: int, token: str) -> tuple[float, bool]:
            start = time.perf_counter()
            r = await client.post(
                f"{base}/u/{token}",
                data={"gate": "self-check"},
                files={"file": (f"自查报告{i}.pdf", pdf(offset + i), "application/pdf")},
            )
            ok = r.status_code == 200 and ("报送成功" in r.text or r.text == "<h1>ok</h1>")
            return time.perf_counter() - start, ok

        start = time.perf_counter()
        results = await asyncio.gather(*(one(i, t) for i, t in enumerate(tokens)))
        wall = time.perf_counter() - start
    return wall, [r[0] for r in results], sum(r[1] for r in results)


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20, method="inclusive")[18]


def cells(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return list(
            conn.execute(
                text("SELECT code FROM unit WHERE kind = 'cell' AND status = 'active' ORDER BY id")
            ).scalars()
        )


def recorded(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:

        def one(sql: str) -> int:
            return int(conn.execute(text(sql)).scalar_one())

        return {
            "portal_files": one(
                "SELECT count(*) FROM submission_file f JOIN submission s "
                "ON s.id = f.submission_id WHERE s.source = 'portal'"
            ),
            "distinct_obligations": one(
                "SELECT count(DISTINCT f.obligation_id) FROM submission_file f "
                "JOIN submission s ON s.id = f.submission_id WHERE s.source = 'portal'"
            ),
            "audited_uploads": one(
                "SELECT count(*) FROM audit_event WHERE action = 'portal.upload'"
            ),
            "refusals": one("SELECT count(*) FROM audit_event WHERE action = 'portal.refuse'"),
        }


def run(backend: str, uploads: int, repeat: int, workdir: Path) -> dict[str, Any]:
    roster = workdir / f"roster-{backend}.csv"
    write_roster(load_campaign(SEED), uploads * repeat + WARMUP + 20, 2017, roster)
    with fresh_database(backend, workdir) as engine:
        load(engine, SEED, roster, actor="bench")
        url = engine.url.render_as_string(hide_password=False)
        codes = cells(engine)
        expires = datetime.now(UTC) + timedelta(days=1)
        tokens = [sign(LinkClaims(CODE, c, 1, expires), SECRET) for c in codes]
        env = {
            **os.environ,
            "PINGAN_PORTAL_SECRET": SECRET,
            "PINGAN_HOME": str(workdir / f"home-{backend}"),
            "PYTHONPATH": str(ROOT),
            "PYTHONWARNINGS": "ignore",
        }
        portal_cmd = [sys.executable, "-m", "pingan.cli.portal", "portal", "--db", url]
        portal = Server(
            [*portal_cmd, "--rate-per-address", "0"],
            env,
            workdir / f"portal-{backend}.log",
        )
        baseline_cmd = [sys.executable, str(Path(__file__).resolve()), "--baseline-server"]
        baseline = Server(
            [*baseline_cmd, "--dir", str(workdir / f"baseline-{backend}")],
            env,
            workdir / f"baseline-{backend}.log",
        )
        rounds: list[dict[str, Any]] = []
        try:
            asyncio.run(burst(portal.base, tokens[:WARMUP], 10**6))
            asyncio.run(burst(baseline.base, tokens[:WARMUP], 10**6))
            for r in range(repeat):
                batch = tokens[WARMUP + r * uploads : WARMUP + (r + 1) * uploads]
                b_wall, b_lat, b_ok = asyncio.run(burst(baseline.base, batch, r * uploads))
                p_wall, p_lat, p_ok = asyncio.run(burst(portal.base, batch, r * uploads))
                rounds.append(
                    {
                        "baseline": {"wall_s": b_wall, "p95_s": p95(b_lat), "ok": b_ok},
                        "portal": {"wall_s": p_wall, "p95_s": p95(p_lat), "ok": p_ok},
                        "portal_p50_s": statistics.median(p_lat),
                        "portal_max_s": max(p_lat),
                    }
                )
        finally:
            portal.stop()
            baseline.stop()
        counts = recorded(engine)
    expected = uploads * repeat + WARMUP

    def med(side: str, key: str) -> float:
        return statistics.median(r[side][key] for r in rounds)

    portal_rps = uploads / med("portal", "wall_s")
    baseline_rps = uploads / med("baseline", "wall_s")
    return {
        "backend": backend,
        "concurrent_uploads": uploads,
        "rounds": repeat,
        "portal_requests_per_s": round(portal_rps, 1),
        "portal_p95_latency_s": round(med("portal", "p95_s"), 3),
        "portal_p50_latency_s": round(statistics.median(r["portal_p50_s"] for r in rounds), 3),
        "baseline_requests_per_s": round(baseline_rps, 1),
        "baseline_p95_latency_s": round(med("baseline", "p95_s"), 3),
        "throughput_ratio": round(portal_rps / baseline_rps, 3),
        "p95_ratio": round(med("portal", "p95_s") / med("baseline", "p95_s"), 2),
        "all_ok": all(
            r["portal"]["ok"] == uploads and r["baseline"]["ok"] == uploads for r in rounds
        ),
        "expected_recorded": expected,
        **counts,
        "none_lost_none_twice": counts["portal_files"]
        == counts["distinct_obligations"]
        == counts["audited_uploads"]
        == expected,
        "rounds_detail": [
            {
                side: {k: round(v, 3) if isinstance(v, float) else v for k, v in r[side].items()}
                for side in ("baseline", "portal")
            }
            for r in rounds
        ],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--uploads", type=int, default=200)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--backend", action="append", choices=["sqlite", "postgresql"])
    ap.add_argument("--baseline-server", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--port", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--dir", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.baseline_server:
        serve_baseline(args.port, args.dir)
        return
    with tempfile.TemporaryDirectory() as tmp:
        results = [run(b, args.uploads, args.repeat, Path(tmp)) for b in backends(args.backend)]
    emit(
        {
            "benchmark": "portal",
            "note": "C concurrent multipart uploads (one per cell link) to one `pingan portal` "
            "process vs the same uploads to a bare FastAPI/uvicorn process that parses the form "
            "and writes the bytes; medians of alternating rounds; throughput_ratio = "
            "portal/baseline requests per second; per-address limit off (all from 127.0.0.1)",
            "machine": machine(),
            "results": results,
        }
    )


if __name__ == "__main__":
    main()

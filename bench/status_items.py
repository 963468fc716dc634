"""`pingan status --items --json` at scale: it streams, so peak memory stays flat with cells.

For each size (default 10k cells, the smoke size CI runs; --full adds 1M) and backend, a
child process loads a synthetic roster, ticks 2017-11-01 (every cell's self-check report is
overdue) and marks every planned message sent on the file channel, so each item has a last
message to look up. Then the real CLI is run twice in fresh processes, output to /dev/null:
`pingan status --json` (counts only: the baseline) and `pingan status --items --json` (one
JSON line per obligation). Peak RSS is each CLI process's own (RUSAGE_CHILDREN of a process
that ran nothing else).

Usage: python bench/status_items.py [--sizes 10000] [--full] [--backend sqlite]
Target (issue 18): peak RSS under 500 MB at 1M cells.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _common import backends, emit, machine, pg_url  # noqa: E402
from tick import _db_url, child_load  # noqa: E402

AS_OF = date(2017, 11, 1)
CODE = "xucheng-2017"
RSS_TARGET_MB = 500


def _child(args: list[str], env: dict[str, str]) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        raise SystemExit(f"child {args} failed:\n{out.stderr[-4000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def child_prepare(url: str) -> dict[str, Any]:
    """Tick once, then mark every planned message sent on the file channel (set-based)."""
    from sqlalchemy import text

    from pingan.adapters.db.session import make_engine
    from pingan.services.tick import evaluate_and_plan, open_campaign

    engine = make_engine(url)
    handle = open_campaign(engine, CODE)
    start = time.perf_counter()
    evaluate_and_plan(engine, handle, AS_OF)
    tick_s = time.perf_counter() - start
    with engine.begin() as conn:
        conn.execute(text("UPDATE notification SET state = 'sent', sent_at = next_attempt_at"))
        conn.execute(
            text(
                "INSERT INTO delivery (notification_id, campaign_id, channel, address, state,"
                " attempts, next_attempt_at, created_at, sent_at, parts)"
                " SELECT id, campaign_id, 'file', 'demo', 'sent', 1, next_attempt_at,"
                " next_attempt_at, next_attempt_at, 1 FROM notification"
            )
        )
        sent = conn.execute(text("SELECT count(*) FROM notification")).scalar_one()
    if engine.dialect.name == "postgresql":
        # What autovacuum does in production (the test server runs without it): planner
        # statistics for the tables just filled, or it plans for empty ones.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE obligation, notification, delivery, unit")
    engine.dispose()
    return {"tick_seconds": round(tick_s, 2), "messages": int(sent)}


def child_cli(url: str, items: bool) -> dict[str, Any]:
    """Run the CLI (its output to /dev/null); its wall time and peak RSS."""
    args = ["status", CODE, "--as-of", AS_OF.isoformat(), "--json", "--db", url]
    args += ["--items"] if items else []
    code = (
        "import sys; from pingan.cli.app import main; sys.argv = ['pingan', *sys.argv[1:]]; main()"
    )
    start = time.perf_counter()
    with open(os.devnull, "w") as sink:
        done = subprocess.run(
            [sys.executable, "-c", code, *args], stdout=sink, stderr=subprocess.PIPE, check=False
        )
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(done.stderr.decode()[-4000:])
    rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {"seconds": round(seconds, 2), "peak_rss_mb": round(rss, 1)}


def child_count(url: str) -> dict[str, Any]:
    from sqlalchemy import text

    from pingan.adapters.db.session import make_engine

    engine = make_engine(url)
    with engine.connect() as conn:
        n = conn.execute(text("SELECT count(*) FROM obligation")).scalar_one()
    engine.dispose()
    return {"items": int(n)}


def _drop_schema(schema: str) -> None:
    from sqlalchemy import create_engine, text

    url = pg_url()
    assert url
    admin = create_engine(url)
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    admin.dispose()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000])
    ap.add_argument("--full", action="store_true", help="also 1,000,000 cells")
    ap.add_argument("--backend", action="append", choices=["sqlite", "postgresql"])
    ap.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        kind, url, *rest = args.child
        result = {
            "load": lambda: child_load(url, int(rest[0]), Path(rest[1])),
            "prepare": lambda: child_prepare(url),
            "baseline": lambda: child_cli(url, items=False),
            "items": lambda: child_cli(url, items=True),
            "count": lambda: child_count(url),
        }[kind]()
        print(json.dumps(result))
        return

    sizes = sorted(set(args.sizes + ([1_000_000] if args.full else [])))
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        env = {"PYTHONPATH": f"{HERE.parent}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
        for backend in backends(args.backend):
            for n in sizes:
                url = _db_url(backend, workdir, f"bench_items_{n}")
                row: dict[str, Any] = {"backend": backend, "cells": n}
                row |= _child(["--child", "load", url, str(n), str(workdir)], env)
                row |= _child(["--child", "prepare", url], env)
                row |= _child(["--child", "count", url], env)
                base = _child(["--child", "baseline", url], env)
                items = _child(["--child", "items", url], env)
                row["baseline"], row["items_run"] = base, items
                row["items_per_s"] = round(row["items"] / items["seconds"])
                row["rss_under_target"] = items["peak_rss_mb"] < RSS_TARGET_MB
                results.append(row)
                if backend == "postgresql":
                    _drop_schema(f"bench_items_{n}")
    emit(
        {
            "benchmark": "status_items",
            "as_of": AS_OF.isoformat(),
            "target_rss_mb": RSS_TARGET_MB,
            "machine": machine(),
            "results": results,
        }
    )


if __name__ == "__main__":
    main()

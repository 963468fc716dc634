"""Roster load: `pingan load` of N synthetic cells vs a bare DBAPI executemany of the same
unit and contact rows, on SQLite and PostgreSQL, measured in the same run.

Usage: python bench/load_roster.py [--cells 100000] [--backend sqlite --backend postgresql]
Target (issue 2): load time ≤ 3× the bare insert.
"""

from __future__ import annotations

import argparse
import csv
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any

from _common import SEED, backends, emit, fresh_database, machine, peak_rss_mb, timed
from sqlalchemy import Engine

from pingan.adapters.db.session import ensure_schema
from pingan.core.campaign import load_campaign
from pingan.services.load import load
from pingan.services.synth import write_roster

TARGET = 3.0


def bare_insert(engine: Engine, roster: Path) -> int:
    """What the load must at least do: put the same rows in the same tables, nothing else."""
    with roster.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    now = datetime(2017, 5, 1)
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        ph = "%s" if engine.dialect.name == "postgresql" else "?"
        cur.execute(
            "INSERT INTO campaign (code, name, timezone, config, fingerprint, starts_on, ends_on,"
            f" loaded_at) VALUES ({', '.join([ph] * 8)})",
            ("bare", "bare", "Asia/Shanghai", "{}", "x", now.date(), now.date(), now),
        )
        cur.execute("SELECT id FROM campaign WHERE code = 'bare'")
        cid = cur.fetchone()[0]
        units = [
            (cid, r["code"], r["name"], r["type"], r["category"] or None, "active", now, now)
            for r in rows
        ]
        cur.executemany(
            "INSERT INTO unit (campaign_id, code, name, kind, category, status, created_at,"
            f" updated_at) VALUES ({', '.join([ph] * 8)})",
            units,
        )
        cur.execute(f"SELECT code, id FROM unit WHERE campaign_id = {ph}", (cid,))
        ids = dict(cur.fetchall())
        contacts = [
            (ids[r["code"]], r["contact"], r["mobile"], r["email"] or None, r["wecom"] or None)
            for r in rows
        ]
        cur.executemany(
            "INSERT INTO contact (unit_id, name, mobile, email, wecom_ref)"
            f" VALUES ({', '.join([ph] * 5)})",
            contacts,
        )
        raw.commit()
    finally:
        raw.close()
    return len(units)


def run(backend: str, cells: int, workdir: Path, roster: Path) -> dict[str, Any]:
    with fresh_database(backend, workdir) as engine:
        ensure_schema(engine)
        bare_s, rows = timed(lambda: bare_insert(engine, roster))
    with fresh_database(backend, workdir) as engine:
        ensure_schema(engine)
        load_s, result = timed(lambda: load(engine, SEED, roster, actor="bench"))
    return {
        "backend": backend,
        "cells": cells,
        "rows": rows,
        "load_seconds": round(load_s, 3),
        "load_rows_per_s": round(rows / load_s),
        "bare_executemany_seconds": round(bare_s, 3),
        "bare_rows_per_s": round(rows / bare_s),
        "ratio": round(load_s / bare_s, 2),
        "target_ratio": TARGET,
        "meets_target": load_s / bare_s <= TARGET,
        "obligations_created": result.obligations_created,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--cells", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=2017)
    ap.add_argument("--backend", action="append", choices=["sqlite", "postgresql"])
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        roster = workdir / "roster.csv"
        write_roster(load_campaign(SEED), args.cells, args.seed, roster)
        results = [run(b, args.cells, workdir, roster) for b in backends(args.backend)]
    emit(
        {
            "benchmark": "load_roster",
            "note": "load = parse + validate + upsert units/contacts + audit + obligations; "
            "bare = DBAPI executemany of the same unit and contact rows",
            "machine": machine(),
            "peak_rss_mb": round(peak_rss_mb(), 1),
            "results": results,
        }
    )


if __name__ == "__main__":
    main()

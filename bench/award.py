"""Benchmark the acceptance-to-plaque path: import 100k scores, award 90k cells, render the
certificates and the public list, each against a same-run baseline.

Per backend (SQLite, and PostgreSQL when PINGAN_TEST_DATABASE_URL / PINGAN_BENCH_PG_URL is
set), on the seed campaign with a synthetic roster of N cells where one in ten fails:

* import: `read_scores` (every check) + `store_scores` (rounds, item scores, gates, audit)
  vs. baseline: csv.reader over the same file + a bare DBAPI executemany of one row per
  cell into a scratch table;
* grant: sign-off, then numbering, verification codes and award notices, in awards/s.

Once (the renderer is backend-independent): certificates for every award with
`write_documents` (one process per core) vs. baseline: the same number of one-line A4 PDFs
with the same embedded font written by a plain reportlab loop in one process; and the public
list (PDF + XLSX) of all awards.

Prints one JSON object.

    .venv/bin/python bench/award.py [--cells 100000] [--certificates N] [--backend sqlite]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from bench._common import SEED, backends, fresh_database, machine, peak_rss_mb
from pingan import root
from pingan.adapters.db.assessing import active_cells, store_scores
from pingan.adapters.db.session import session_scope
from pingan.adapters.intake.scores import read_scores
from pingan.core.acceptance import SignOffRequest
from pingan.core.campaign import Campaign, load_campaign
from pingan.core.scores import CellRef, acceptance_window
from pingan.demo.sim import Verdict
from pingan.demo.sim import write_scores_csv as write_sheet
from pingan.services import acceptance
from pingan.services import award as awarding
from pingan.services.documents import write_documents
from pingan.services.load import load
from pingan.services.synth import write_roster
from pingan.services.tick import open_campaign

ASSESSED_ON = date(2017, 11, 15)
TODAY = date(2017, 11, 18)


def write_scores_csv(campaign: Campaign, cells: list[CellRef], path: Path) -> int:
    """Full marks, except every tenth cell misses half its points (fails). Returns how many
    pass. The same sheet writer as the demo's assessment team."""
    verdicts = [
        Verdict(cell, "fail" if i % 10 == 9 else "pass", ASSESSED_ON)
        for i, cell in enumerate(cells)
    ]
    write_sheet(campaign, verdicts, path, "考核组")
    return sum(v.outcome == "pass" for v in verdicts)


def approve(engine: Engine, handle: Any) -> None:
    request = SignOffRequest(approver="基准测试", approved=True, comment=None, exclusions={})
    acceptance.sign_off(engine, handle, request, actor="bench", source="bench")


def baseline_import(engine: Engine, path: Path) -> float:
    """What storing the same data costs at the bare minimum: parse the CSV, insert one
    assessment row and one row per filled item, with no checks, rounds or audit."""
    start = time.perf_counter()
    with path.open(newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        header = next(reader)
        heads = [(rec[1], rec) for rec in reader]
    assessments = [(i, code, 100.0, True) for i, (code, _) in enumerate(heads)]
    items = [
        (i, key, value)
        for i, (_, rec) in enumerate(heads)
        for key, value in zip(header[2:-2], rec[2:-2], strict=True)
        if value != ""
    ]
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE bench_a (id int, code text, total float, ok bool)"))
        conn.execute(text("CREATE TABLE bench_s (a int, item text, value text)"))
        raw: Any = conn.connection.driver_connection
        cur = raw.cursor()
        ph = "?" if engine.dialect.name == "sqlite" else "%s"
        cur.executemany(f"INSERT INTO bench_a VALUES ({ph}, {ph}, {ph}, {ph})", assessments)
        cur.executemany(f"INSERT INTO bench_s VALUES ({ph}, {ph}, {ph})", items)
    return time.perf_counter() - start


def one_backend(backend: str, work: Path, roster: Path, cells_n: int) -> dict[str, Any]:
    with fresh_database(backend, work) as engine:
        load(engine, SEED, roster, actor="bench")
        handle = open_campaign(engine, "xucheng-2017")
        cells = active_cells(engine, handle.campaign_id)
        ordered = sorted(cells.values(), key=lambda c: c.code)
        scores = work / f"scores-{backend}.csv"
        passing = write_scores_csv(handle.campaign, ordered, scores)

        base = baseline_import(engine, scores)
        start = time.perf_counter()
        result = read_scores(
            scores,
            handle.campaign,
            cells,
            today=TODAY,
            window=acceptance_window(handle.campaign),
        )
        assert not result.problems, result.problems[:3]
        parsed = time.perf_counter() - start
        with session_scope(engine) as session:
            counts = store_scores(
                session,
                handle.campaign,
                handle.campaign_id,
                result.rows,
                source="spreadsheet",
                actor="bench",
                file_name=scores.name,
            )
        imported = time.perf_counter() - start
        assert counts["passed"] == passing

        approve(engine, handle)
        start = time.perf_counter()
        key = root.container().award_key()
        run = awarding.grant(engine, handle, key=key, as_of=TODAY, actor="bench")
        granted = time.perf_counter() - start
        assert len(run.new_award_ids) == passing
        with Session(engine) as s:
            rows = s.execute(text("SELECT count(*) FROM notification")).scalar_one()
        return {
            "cells": cells_n,
            "scores": len(result.rows),
            "import_s": round(imported, 2),
            "import_parse_s": round(parsed, 2),
            "import_rows_per_s": round(len(result.rows) / imported),
            "baseline_import_s": round(base, 2),
            "import_ratio": round(imported / base, 2),
            "awards": len(run.new_award_ids),
            "grant_s": round(granted, 2),
            "awards_per_s": round(len(run.new_award_ids) / granted),
            "notices": int(rows),
        }


def baseline_certificates(n: int, out: Path) -> float:
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    from pingan.adapters.render.fonts import register_reportlab_font

    font = register_reportlab_font(root.settings().font_path)
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    for i in range(n):
        c = canvas.Canvas(str(out / f"{i:06d}.pdf"), pagesize=A4)
        c.setFont(font, 24)
        c.drawString(100, 700, f"平安校园 第{i:06d}号 某某单位")
        c.save()
    return time.perf_counter() - start


def certificates(work: Path, roster: Path, limit: int | None) -> dict[str, Any]:
    with fresh_database("sqlite", work) as engine:
        load(engine, SEED, roster, actor="bench")
        handle = open_campaign(engine, "xucheng-2017")
        cells = active_cells(engine, handle.campaign_id)
        scores = work / "scores-certs.csv"
        write_scores_csv(handle.campaign, sorted(cells.values(), key=lambda c: c.code), scores)
        result = read_scores(
            scores, handle.campaign, cells, today=TODAY, window=acceptance_window(handle.campaign)
        )
        with session_scope(engine) as session:
            store_scores(
                session,
                handle.campaign,
                handle.campaign_id,
                result.rows,
                source="spreadsheet",
                actor="bench",
                file_name=scores.name,
            )
        approve(engine, handle)
        key = root.container().award_key()
        run = awarding.grant(engine, handle, key=key, as_of=TODAY, actor="bench", notify=False)
        ids = run.new_award_ids[:limit] if limit else run.new_award_ids
        start = time.perf_counter()
        docs = write_documents(engine, handle, award_ids=ids, out_dir=work / "out")
        total = time.perf_counter() - start
        # The public list alone: the same call with no certificate to render.
        start = time.perf_counter()
        write_documents(engine, handle, award_ids=[], out_dir=work / "out")
        listed = time.perf_counter() - start
    sample = min(len(ids), 2000)
    base = baseline_certificates(sample, work / "baseline")
    rendered = total - listed
    return {
        "certificates": docs.certificates,
        "processes": min(os.cpu_count() or 1, -(-len(ids) // 500)),
        "certificates_s": round(rendered, 1),
        "certificates_per_s": round(docs.certificates / rendered),
        "baseline_one_line_pdfs_per_s_one_process": round(sample / base),
        "certificate_vs_one_line_pdf": round((sample / base) / (docs.certificates / rendered), 2),
        "public_list_entries": len(run.new_award_ids),
        "public_list_pdf_xlsx_s": round(listed, 1),
        "public_list_pdf_bytes": docs.public_list_pdf.stat().st_size,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, default=100_000)
    parser.add_argument(
        "--certificates", type=int, default=None, help="render only the first N (default all)"
    )
    parser.add_argument("--backend", action="append", choices=["sqlite", "postgresql"])
    parser.add_argument("--skip-certificates", action="store_true")
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="pingan-bench-award-"))
    os.environ.setdefault("PINGAN_AWARD_SECRET", "bench-key")
    os.environ["PINGAN_HOME"] = str(work / "home")
    try:
        roster = work / "roster.csv"
        write_roster(load_campaign(SEED), args.cells, 1, roster)
        out: dict[str, Any] = {"benchmark": "award", "machine": machine()}
        for backend in backends(args.backend):
            out[backend] = one_backend(backend, work, roster, args.cells)
        if not args.skip_certificates:
            out["certificates"] = certificates(work, roster, args.certificates)
        out["peak_rss_mb"] = round(peak_rss_mb())
        print(json.dumps(out, ensure_ascii=False, indent=2))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

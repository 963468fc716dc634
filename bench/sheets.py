"""Workbook reading: a synthetic .xlsx roster of N cells read and checked by read_roster
through python-calamine (with the extent scan that guards it) vs the openpyxl streaming
reader used before, each in a child process of its own (so peak memory is its own), in
the same run. Also the .xls and .ods readers at a size those formats are used at.

Usage: python bench/sheets.py [--cells 100000]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import openpyxl
from _common import SEED, emit, machine, peak_rss_mb, timed

from pingan.core.campaign import load_campaign
from pingan.services.synth import in_chinese, synth_roster


def write_xlsx(cells: int, path: Path) -> None:
    campaign = load_campaign(SEED)
    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet("名册")
    for row in in_chinese(campaign, synth_roster(campaign, cells, 2017)):
        sheet.append(list(row))
    book.save(path)


def child(reader: str, path: Path) -> dict[str, Any]:
    """Read path with one reader; runs in its own process."""
    from pingan.adapters.intake import workbook
    from pingan.adapters.intake.extent import xlsx_extents
    from pingan.adapters.intake.roster import read_roster

    if reader == "openpyxl":
        workbook._fits = lambda path, suffix: False  # type: ignore[attr-defined]
    campaign = load_campaign(SEED)
    scan_s = 0.0
    if reader == "calamine":
        with path.open("rb") as f:
            scan_s, _ = timed(lambda: xlsx_extents(f))
    seconds, result = timed(lambda: read_roster(path, campaign))
    assert not result.problems, result.problems[:3]
    return {
        "reader": reader,
        "rows": len(result.rows),
        "seconds": round(seconds, 3),
        "extent_scan_seconds": round(scan_s, 3),
        "peak_rss_mb": round(peak_rss_mb(), 1),
    }


def run_child(reader: str, path: Path) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, __file__, "--child", reader, str(path)],
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, Any] = json.loads(proc.stdout)
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--cells", type=int, default=100_000)
    ap.add_argument("--child", nargs=2, metavar=("READER", "PATH"))
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child(args.child[0], Path(args.child[1]))))
        return
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "名册.xlsx"
        write_s, _ = timed(lambda: write_xlsx(args.cells, path))
        size_mb = path.stat().st_size / 1024 / 1024
        calamine = run_child("calamine", path)
        openpyxl_result = run_child("openpyxl", path)
    emit(
        {
            "benchmark": "sheets",
            "note": "read_roster of an .xlsx roster (parse + check), each reader in its own "
            "process; calamine's time includes the extent scan that bounds its memory",
            "machine": machine(),
            "cells": args.cells,
            "xlsx_mb": round(size_mb, 1),
            "write_seconds": round(write_s, 1),
            "results": [calamine, openpyxl_result],
            "speedup": round(openpyxl_result["seconds"] / calamine["seconds"], 2),
            "memory_ratio": round(calamine["peak_rss_mb"] / openpyxl_result["peak_rss_mb"], 2),
        }
    )


if __name__ == "__main__":
    main()

"""Benchmark submission intake against a plain copy-and-hash of the same files.

Creates N small, distinct, valid PDF files spread over the cells of a synthetic roster,
then times, on SQLite:

* baseline: shutil.copyfile of every file into another folder plus its SHA-256, synced to
  disk once per batch like intake's evidence store;
* collect: checks, content-addressed store (one filesystem sync per batch), database rows,
  removal from the inbox.

Dirty pages left by the set-up are flushed before each timed phase so they do not bill it.

and, with a private Dovecot (Debian's dovecot-imapd), the mail row (bench/intake_mail.py):
--mails mails with one PDF each through mail intake against a bare imaplib fetch + sha256,
--repeat runs of each, alternating, medians compared.

Prints one JSON object with both timings and their ratio.

    .venv/bin/python bench/intake.py [--files N] [--batch-size B] [--mails M] [--keep]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, text

from pingan.adapters.db.session import make_engine
from pingan.adapters.intake.collect import IntakeReport, IntakeRun, collect
from pingan.adapters.intake.store import EvidenceStore, Quarantine
from pingan.core.campaign import load_campaign
from pingan.services.load import load
from pingan.services.synth import write_roster

ROOT = Path(__file__).resolve().parent.parent
SEED_CONFIG = ROOT / "config" / "campaigns" / "xucheng-2017.yaml"
TZ = "Asia/Shanghai"
# Inside the self-check window (2017-05-16 … 2017-10-31), which every cell owes.
RECEIVED_AT = datetime(2017, 6, 1, 10, 0, tzinfo=ZoneInfo(TZ))
TARGET_RATIO = 2.0
FILES_PER_CELL = 5
FILE_SIZE = 300


def pdf(i: int) -> bytes:
    body = f"%PDF-1.4\n% 平安细胞创建自查报告 第 {i} 份\n".encode()
    padding = b"%" + b"x" * max(0, FILE_SIZE - len(body) - 8) + b"\n"
    return body + padding + b"%%EOF\n"


def cell_codes(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return list(
            conn.execute(
                text(
                    "SELECT code FROM unit WHERE kind = 'cell' AND status = 'active' ORDER BY code"
                )
            ).scalars()
        )


def make_inbox(inbox: Path, codes: list[str], files: int) -> list[Path]:
    paths = []
    for i in range(files):
        folder = inbox / "self_check" / codes[i % len(codes)]
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"自查报告-{i:06d}.pdf"
        path.write_bytes(pdf(i))
        paths.append(path)
    return paths


def baseline(paths: list[Path], dest: Path, batch_size: int) -> float:
    """Copy + hash with the same durability as intake: the files are on disk (one sync per
    batch, as intake syncs its evidence store per batch) before the clock stops. Without it
    the baseline timed only the page cache, and swung 4x with the disk's writeback."""
    dest.mkdir()
    fd = os.open(dest, os.O_RDONLY)
    start = time.perf_counter()
    try:
        for i, src in enumerate(paths):
            shutil.copyfile(src, dest / f"{i:06d}.pdf")
            hashlib.sha256(src.read_bytes()).hexdigest()
            if (i + 1) % batch_size == 0 or i + 1 == len(paths):
                os.fsync(fd)  # directory entries
                os.sync()
    finally:
        os.close(fd)
    return time.perf_counter() - start


def prepared_database(work: Path, name: str, roster: Path) -> tuple[Engine, int]:
    engine = make_engine(f"sqlite:///{work / name}")
    return engine, load(engine, SEED_CONFIG, roster).summary.campaign_id


def timed_collect(
    engine: Engine,
    campaign_id: int,
    inbox: Path,
    work: Path,
    batch_size: int,
) -> tuple[float, IntakeReport]:
    start = time.perf_counter()
    run = IntakeRun(
        engine=engine,
        campaign_id=campaign_id,
        tz=TZ,
        received_at=RECEIVED_AT,
        evidence=EvidenceStore(work / "evidence"),
        quarantine=Quarantine(work / "quarantine"),
        max_bytes=20 * 1024 * 1024,
        batch_size=batch_size,
    )
    report = collect(run, str(inbox))
    return time.perf_counter() - start, report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--keep", action="store_true", help="keep the temp folder")
    parser.add_argument("--repeat", type=int, default=3, help="alternating runs; medians")
    parser.add_argument(
        "--mails", type=int, default=2000, help="mail row: mails with one PDF each (0: skip)"
    )
    args = parser.parse_args(argv)
    files: int = args.files

    work = Path(tempfile.mkdtemp(prefix="pingan-bench-intake-"))
    try:
        campaign = load_campaign(SEED_CONFIG)
        roster = work / "roster.csv"
        write_roster(campaign, max(1, -(-files // FILES_PER_CELL)), 1, roster)

        # Background writeback (the disk here is mounted with discard) makes single runs
        # swing by 3x, so baseline and intake alternate and medians are compared.
        base_runs: list[float] = []
        runs: list[float] = []
        for i in range(args.repeat):
            engine, campaign_id = prepared_database(work, f"run{i}.db", roster)
            codes = cell_codes(engine)
            paths = make_inbox(work / f"inbox{i}", codes, files)
            os.sync()
            base_runs.append(baseline(paths, work / f"baseline{i}", args.batch_size))
            os.sync()
            seconds, report = timed_collect(
                engine, campaign_id, work / f"inbox{i}", work / f"a{i}", args.batch_size
            )
            runs.append(seconds)
            engine.dispose()
            if (report.accepted, report.rejected, report.duplicates) != (files, 0, 0):
                print(f"unexpected intake result: {report}", file=sys.stderr)
                return 1
        seconds = statistics.median(runs)
        baseline_seconds = statistics.median(base_runs)
        ratio = seconds / baseline_seconds
        result = {
            "files": files,
            "seconds": round(seconds, 3),
            "files_per_s": round(files / seconds, 1),
            "baseline_seconds": round(baseline_seconds, 3),
            "baseline_files_per_s": round(files / baseline_seconds, 1),
            "ratio": round(ratio, 2),
            "target_ratio": TARGET_RATIO,
            "meets_target": ratio <= TARGET_RATIO,
            "batch_size": args.batch_size,
            "runs_seconds": [round(x, 3) for x in runs],
            "baseline_runs_seconds": [round(x, 3) for x in base_runs],
            "submissions": report.submissions,
        }
        if args.mails > 0:
            from bench.intake_mail import mail_row

            result["mail"] = mail_row(
                lambda name: prepared_database(work, name, roster),
                campaign,
                work,
                args.mails,
                pdf,
                args.repeat,
            )
        print(json.dumps(result, ensure_ascii=False))
        return 0
    finally:
        if args.keep:
            print(f"kept {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())

"""Issue 17, finding 2 (collect): when the evidence disk fills, `pingan collect` says so in
one Chinese line, records the files that fit, leaves no partial file behind and the rest in
the inbox; once space is freed, a re-run takes in the rest.

The evidence store is a real tmpfs of a few hundred KB, mounted by the test (root only)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from pingan.adapters.db.session import make_engine
from pingan.adapters.intake.collect import PROCESSED_DIR
from pingan.services.collect import IntakeStores, collect_inbox
from pingan.services.tick import open_campaign
from tests.factories import ROOT, SEED_CODE, load_seed

FILE_BYTES = 100 * 1024
FILES = 6


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a tmpfs needs root and mount(8); the disk-full case is not run")
    where = tmp_path / "evidence"
    where.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=320k,mode=0700", "tmpfs", str(where)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        pytest.skip(f"this machine refuses to mount a tmpfs: {mounted.stderr.strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", str(where)], check=False)


def collect_cli(
    db: Path, inbox: Path, evidence: Path, quarantine: Path
) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "COLUMNS": "250",
        "PINGAN_EVIDENCE_DIR": str(evidence),
        "PINGAN_QUARANTINE_DIR": str(quarantine),
    }
    command = [sys.executable, "-m", "pingan.cli.app", "collect", SEED_CODE]
    command += ["--inbox", str(inbox), "--as-of", "2017-06-01", "--db", f"sqlite:///{db}"]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


def recorded(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM submission_file")).scalar_one())


def waiting(inbox: Path) -> list[Path]:
    return [
        p
        for p in inbox.rglob("*")
        if p.is_file() and PROCESSED_DIR not in p.relative_to(inbox).parts
    ]


def test_full_evidence_disk_keeps_progress_and_a_rerun_finishes(
    small_disk: Path, tmp_path: Path
) -> None:
    db = tmp_path / "pingan.db"
    engine = make_engine(f"sqlite:///{db}")
    loaded = load_seed(engine, tmp_path, cells=FILES)
    with engine.connect() as conn:
        cells = (
            conn.execute(
                text(
                    "SELECT code FROM unit WHERE campaign_id = :c AND kind = 'cell' ORDER BY code"
                ),
                {"c": loaded.cid},
            )
            .scalars()
            .all()
        )
    inbox = tmp_path / "inbox"
    for i, cell in enumerate(cells[:FILES]):
        folder = inbox / "self_check" / cell
        folder.mkdir(parents=True)
        body = os.urandom(FILE_BYTES)  # incompressible, distinct: each needs its own space
        (folder / f"自查报告{i}.pdf").write_bytes(b"%PDF-1.4\n" + body)

    first = collect_cli(db, inbox, small_disk, tmp_path / "quarantine")

    output = first.stdout + first.stderr
    assert "Traceback" not in output, output[-3000:]
    assert first.returncode == 1, output[-3000:]
    assert len([ln for ln in first.stderr.splitlines() if "磁盘空间不足（" in ln]) == 1
    kept = recorded(engine)
    assert 1 <= kept < FILES  # what fitted is recorded …
    assert len(waiting(inbox)) == FILES - kept  # … the rest waits in the inbox
    stored = [p for p in small_disk.rglob("*") if p.is_file()]
    assert len(stored) == kept  # no partial copy, no unrecorded evidence
    assert not [p for p in stored if p.name.endswith(".part")]

    subprocess.run(["mount", "-o", "remount,size=4m", str(small_disk)], check=True)
    second = collect_cli(db, inbox, small_disk, tmp_path / "quarantine")

    assert second.returncode == 0, (second.stdout + second.stderr)[-3000:]
    assert recorded(engine) == FILES
    assert waiting(inbox) == []
    engine.dispose()


def test_collect_sweeps_stale_partial_files_from_evidence_and_quarantine(
    engine: Engine, tmp_path: Path
) -> None:
    load_seed(engine, tmp_path, cells=2)
    evidence, quarantine = tmp_path / "evidence", tmp_path / "quarantine"
    stale_copy = evidence / "ab" / ".123-0-1.part"
    stale_folder = quarantine / "20170601" / ".0123abcd.part"
    fresh_folder = quarantine / "20170601" / ".4567cdef.part"  # a put still under way
    for folder in (stale_copy.parent, stale_folder, fresh_folder):
        folder.mkdir(parents=True)
    stale_copy.write_bytes(b"half a file")
    (stale_folder / "报告.pdf").write_bytes(b"half a file")
    two_hours_ago = time.time() - 7200
    for path in (stale_copy, stale_folder):
        os.utime(path, (two_hours_ago, two_hours_ago))
    (tmp_path / "inbox").mkdir()

    collect_inbox(
        engine,
        open_campaign(engine, SEED_CODE),
        str(tmp_path / "inbox"),
        IntakeStores(evidence, quarantine, 1 << 20),
        as_of=date(2017, 6, 1),
    )

    assert not stale_copy.exists() and not stale_folder.exists()
    assert fresh_folder.is_dir()

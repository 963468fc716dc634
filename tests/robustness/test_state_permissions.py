"""State is private whatever the user's umask: with umask 022, the database (and its -wal and
-shm), the evidence, the quarantine, the reports and the award key are 0600 files in 0700
folders, and an older database other users could read is narrowed when next opened."""

from __future__ import annotations

import os
import sqlite3
import stat
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.factories import ROOT, SEED_CODE, SEED_CONFIG, synth_roster

LOOSE = 0o022


@contextmanager
def umask(mask: int) -> Iterator[None]:
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


def pingan(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """One `pingan` command in a child process started with a permissive umask."""
    env = {**os.environ, "PINGAN_HOME": str(cwd / ".pingan"), "PYTHONPATH": str(ROOT)}
    env.pop("PINGAN_DATABASE_URL", None)
    with umask(LOOSE):
        done = subprocess.run(
            [sys.executable, "-m", "pingan.cli.app", *args],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
    assert "Traceback" not in done.stderr + done.stdout
    return done


def open_to_others(home: Path) -> list[str]:
    """Every file or folder under ``home`` (itself included) that group or others can use."""
    found = []
    for path in [home, *home.rglob("*")]:
        if stat.S_IMODE(path.lstat().st_mode) & 0o077:
            found.append(f"{path.relative_to(home.parent)} {stat.filemode(path.lstat().st_mode)}")
    return found


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    roster = synth_roster(tmp_path, 20)
    done = pingan(tmp_path, "load", str(SEED_CONFIG), "--roster", str(roster))
    assert done.returncode == 0, done.stderr
    return tmp_path


def test_commands_leave_only_private_state_under_a_loose_umask(workdir: Path) -> None:
    inbox = workdir / "inbox"
    good = inbox / "self_check" / "SYN-C0000001" / "自查报告.pdf"
    good.parent.mkdir(parents=True)
    good.write_bytes(b"%PDF-1.4\n% self-check\n%%EOF\n")
    bad = inbox / "self_check" / "SYN-C0000002" / "照片.pdf"
    bad.parent.mkdir(parents=True)
    bad.write_bytes(b"MZ\x90\x00 not a pdf")

    collected = pingan(
        workdir, "collect", SEED_CODE, "--inbox", str(inbox), "--as-of", "2017-06-01"
    )
    reported = pingan(workdir, "report", SEED_CODE, "--as-of", "2017-06-01", "--no-bulletin")
    with umask(LOOSE):
        keyed = subprocess.run(
            [sys.executable, "-c", "from pingan import root; root.container().award_key()"],
            cwd=workdir,
            env={**os.environ, "PINGAN_HOME": str(workdir / ".pingan"), "PYTHONPATH": str(ROOT)},
            capture_output=True,
            text=True,
            timeout=120,
        )

    assert (collected.returncode, reported.returncode, keyed.returncode) == (0, 0, 0), (
        collected.stderr + reported.stderr + keyed.stderr
    )
    home = workdir / ".pingan"
    for part in ("pingan.db", "evidence", "quarantine", "output", "award.key"):
        assert (home / part).exists(), part
    assert any((home / "evidence").rglob("*.pdf")) or any(
        p.is_file() for p in (home / "evidence").rglob("*")
    )
    assert any(p.is_file() for p in (home / "quarantine").rglob("*"))
    assert any(p.is_file() for p in (home / "output").rglob("*"))
    assert open_to_others(home) == []


def test_the_databases_wal_and_shm_are_private(workdir: Path) -> None:
    db = workdir / ".pingan" / "pingan.db"
    with umask(LOOSE):
        reader = sqlite3.connect(db)
        reader.execute("BEGIN")
        reader.execute("SELECT count(*) FROM unit").fetchone()  # makes the -wal and -shm
        try:
            sides = [db.with_name(db.name + s) for s in ("-wal", "-shm")]
            assert all(p.exists() for p in sides)
            assert {stat.S_IMODE(p.stat().st_mode) for p in [db, *sides]} == {0o600}
        finally:
            reader.close()


def test_an_older_database_open_to_others_is_narrowed(workdir: Path) -> None:
    db = workdir / ".pingan" / "pingan.db"
    os.chmod(db, 0o644)

    done = pingan(workdir, "units", SEED_CODE)

    assert done.returncode == 0, done.stderr
    assert stat.S_IMODE(db.stat().st_mode) == 0o600

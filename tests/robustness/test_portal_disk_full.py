"""Issue 17, finding 2 (the portal's half): when the disk holding the spool, the evidence and
the quarantine fills up, an upload is answered with 507 and a Chinese page carrying the
security headers, nothing half-written stays behind, nothing is recorded, and the same
upload goes through once there is room again. On a real tmpfs, mounted by the test."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.factories import Loaded, load_seed
from tests.portal.conftest import IN_SELF_CHECK, Clock, make_portal

DISK_BYTES = 1024 * 1024
FILE_BYTES = 200 * 1024


@pytest.fixture
def seeded(engine: Any, tmp_path: Path) -> Loaded:
    return load_seed(engine, tmp_path, cells=4)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 1 MiB tmpfs of its own (the database stays on the ordinary disk)."""
    if os.geteuid() != 0:
        pytest.skip("磁盘写满测试已跳过：挂载 tmpfs 需要 root 权限")
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={DISK_BYTES}", "tmpfs", str(mount)],
        capture_output=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip("磁盘写满测试已跳过：本机不允许挂载 tmpfs")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(disk: Path, leave: int) -> Path:
    """Fill the disk until only about leave bytes are free."""
    filler = disk / "filler"
    stat = os.statvfs(disk)
    free = stat.f_bavail * stat.f_frsize
    filler.write_bytes(b"\0" * max(0, free - leave))
    return filler


def files_on(disk: Path) -> list[Path]:
    return sorted(p for p in disk.rglob("*") if p.is_file() and p.name != "filler")


def big_pdf() -> bytes:
    body = b"%PDF-1.4\n%" + "自查报告".encode() + b"\n"
    return body + b"0" * (FILE_BYTES - len(body) - 7) + b"\n%%EOF\n"


@pytest.mark.parametrize(
    ("leave", "where"),
    [(64 * 1024, "while spooling the upload"), (FILE_BYTES + 96 * 1024, "while storing it")],
)
def test_a_full_disk_is_a_507_page_with_headers_and_leaves_nothing_behind(
    seeded: Loaded, small_disk: Path, leave: int, where: str
) -> None:
    p = make_portal(seeded, small_disk, Clock(IN_SELF_CHECK))
    code = p.cell()
    url = p.url(code)
    filler = fill(small_disk, leave)

    with p.client:
        response = p.upload(url, big_pdf())
        assert response.status_code == 507, where
        assert "存储空间已满" in response.text
        assert "content-security-policy" in response.headers
        assert files_on(small_disk) == [], where
        assert p.files(code) == []

        filler.unlink()
        again = p.upload(url, big_pdf())

    assert again.status_code == 200
    assert len(p.files(code)) == 1
    refusals = [e for e in p.audit("portal.refuse") if e["reason"] == "disk_full"]
    assert len(refusals) == 1

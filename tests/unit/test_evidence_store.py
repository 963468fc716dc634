"""Content-addressed evidence store and quarantine."""

from __future__ import annotations

import hashlib
import io
import os
import stat
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import BinaryIO
from zoneinfo import ZoneInfo

import pytest

from pingan.adapters.intake.store import EvidenceStore, Quarantine, safe_basename

DATA = b"%PDF-1.4\n%" + "平安细胞创建自查报告".encode() + b"\n%%EOF\n"
SHA = hashlib.sha256(DATA).hexdigest()
WHEN = datetime(2025, 3, 14, 9, 30, 5, tzinfo=ZoneInfo("Asia/Shanghai"))


def opener_of(data: bytes) -> Callable[[], BinaryIO]:
    return lambda: io.BytesIO(data)


def never_opened() -> BinaryIO:
    raise AssertionError("the source should not have been opened")


def files_under(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


# --- EvidenceStore ----------------------------------------------------------------------


def test_path_for_fans_out_by_the_first_byte(tmp_path: Path) -> None:
    store = EvidenceStore(tmp_path)
    assert store.path_for(SHA) == tmp_path / SHA[:2] / SHA


@pytest.mark.parametrize("bad", ["", "../" + "0" * 61, "g" * 64, "0" * 63, "0" * 65, SHA + "\n"])
def test_path_for_rejects_anything_but_a_sha256_digest(tmp_path: Path, bad: str) -> None:
    with pytest.raises(ValueError):
        EvidenceStore(tmp_path).path_for(bad)


def test_put_stores_the_content_under_its_digest(tmp_path: Path) -> None:
    store = EvidenceStore(tmp_path)
    assert not store.has(SHA)
    path = store.put(opener_of(DATA), SHA)
    assert path == store.path_for(SHA)
    assert path.read_bytes() == DATA
    assert store.has(SHA)


def test_put_makes_stored_evidence_read_only(tmp_path: Path) -> None:
    path = EvidenceStore(tmp_path).put(opener_of(DATA), SHA)
    assert not path.stat().st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)


def test_put_of_a_digest_already_stored_reads_nothing_and_returns_the_same_path(
    tmp_path: Path,
) -> None:
    store = EvidenceStore(tmp_path)
    first = store.put(opener_of(DATA), SHA)
    second = store.put(never_opened, SHA)
    assert second == first
    assert files_under(tmp_path) == [first]


def test_put_accepts_an_upper_case_digest(tmp_path: Path) -> None:
    path = EvidenceStore(tmp_path).put(opener_of(DATA), SHA.upper())
    assert path.name == SHA


def test_put_with_mismatched_digest_raises_and_leaves_no_file(tmp_path: Path) -> None:
    store = EvidenceStore(tmp_path)
    with pytest.raises(ValueError):
        store.put(opener_of(DATA + b"tampered"), SHA)
    assert not store.has(SHA)
    assert files_under(tmp_path) == []


class FailingReader(io.BytesIO):
    """Delivers some bytes, then fails like a dropped network share."""

    def read(self, size: int | None = -1, /) -> bytes:
        if self.tell() > 0:
            raise OSError("connection reset")
        return super().read(4)


def test_put_interrupted_by_a_read_error_leaves_no_file(tmp_path: Path) -> None:
    store = EvidenceStore(tmp_path)
    with pytest.raises(OSError):
        store.put(lambda: FailingReader(DATA), SHA)
    assert not store.has(SHA)
    assert files_under(tmp_path) == []


def test_sweep_temp_removes_only_old_leftovers(tmp_path: Path) -> None:
    store = EvidenceStore(tmp_path)
    store.put(opener_of(DATA), SHA)
    temp_dir = tmp_path / SHA[:2]
    old, fresh = temp_dir / ".crashed.part", temp_dir / ".copying.part"
    old.write_bytes(b"half")
    fresh.write_bytes(b"half")
    two_hours_ago = time.time() - 7200
    os.utime(old, (two_hours_ago, two_hours_ago))
    assert store.sweep_temp(older_than_s=3600) == 1
    assert not old.exists()
    assert fresh.exists()
    assert store.has(SHA)


def test_sweep_temp_on_a_fresh_store_removes_nothing(tmp_path: Path) -> None:
    assert EvidenceStore(tmp_path / "new").sweep_temp() == 0


# --- Quarantine -------------------------------------------------------------------------


def test_quarantine_puts_file_under_date_and_unique_folder(tmp_path: Path) -> None:
    path = Quarantine(tmp_path).put(
        opener_of(DATA), "社区/A001/自查报告.pdf", "bad_type", "文件类型不符", WHEN
    )
    assert path.name == "自查报告.pdf"
    assert path.parent.parent == tmp_path / "20250314"
    assert path.read_bytes() == DATA


def test_quarantine_keeps_two_files_with_the_same_name_apart(tmp_path: Path) -> None:
    quarantine = Quarantine(tmp_path)
    a = quarantine.put(opener_of(b"a"), "报告.pdf", "empty", "文件为空", WHEN)
    b = quarantine.put(opener_of(b"b"), "报告.pdf", "empty", "文件为空", WHEN)
    assert a != b
    assert (a.read_bytes(), b.read_bytes()) == (b"a", b"b")


@pytest.mark.parametrize(
    "hostile",
    [
        "../../../../etc/passwd",
        "/etc/cron.d/job",
        "..\\..\\windows\\system32\\evil.dll",
        "C:\\Users\\x\\报告.pdf",
        "..",
        "",
        "/",
        "报告\x00.pdf",
        "报告\n原因代码:ok.pdf",
        "\u202egpj.exe",
        "CON.txt",
        "aux",
        "平" * 300 + ".pdf",
        "\udcff\udcfe.pdf",
        "a:b|c?.pdf",
    ],
)
def test_quarantine_with_hostile_name_stays_inside_its_folder(tmp_path: Path, hostile: str) -> None:
    root = tmp_path / "quarantine"
    path = Quarantine(root).put(opener_of(DATA), hostile, "unsafe_name", "文件名不符合要求", WHEN)
    assert path.resolve().parent.parent == (root / "20250314").resolve()
    assert path.read_bytes() == DATA
    note = path.with_name(path.name + ".reason.txt")
    assert note.is_file()
    assert len(note.name.encode("utf-8")) <= 255
    assert {p.parent for p in files_under(tmp_path)} == {path.parent}


def test_quarantine_writes_reason_note_in_chinese(tmp_path: Path) -> None:
    path = Quarantine(tmp_path).put(
        opener_of(DATA),
        "社区/A001/自查报告.pdf",
        "too_large",
        "文件超过大小上限(上限 20 MB,实际至少 21.3 MB)",
        WHEN,
    )
    note = (path.parent / "自查报告.pdf.reason.txt").read_text(encoding="utf-8")
    assert note.splitlines() == [
        "原始相对路径:社区/A001/自查报告.pdf",
        "原因代码:too_large",
        "原因:文件超过大小上限(上限 20 MB,实际至少 21.3 MB)",
        "隔离时间:2025-03-14 09:30:05+08:00",
        f"文件大小:{len(DATA)} 字节",
        f"SHA-256:{SHA}",
    ]


def test_quarantine_note_escapes_control_characters_in_the_original_name(
    tmp_path: Path,
) -> None:
    path = Quarantine(tmp_path).put(
        opener_of(DATA), "报告\n原因代码:ok\u202e.pdf", "unsafe_name", "文件名不符合要求", WHEN
    )
    lines = path.with_name(path.name + ".reason.txt").read_text(encoding="utf-8").splitlines()
    assert lines[0] == "原始相对路径:报告\\u000a原因代码:ok\\u202e.pdf"
    assert [line for line in lines if line.startswith("原因代码")] == ["原因代码:unsafe_name"]


def test_quarantine_interrupted_by_a_read_error_leaves_no_folder(tmp_path: Path) -> None:
    with pytest.raises(OSError):
        Quarantine(tmp_path).put(lambda: FailingReader(DATA), "报告.pdf", "empty", "文件为空", WHEN)
    assert list((tmp_path / "20250314").iterdir()) == []


# --- safe_basename ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("社区/A001/自查报告.pdf", "自查报告.pdf"),
        ("..\\..\\evil.dll", "evil.dll"),
        ("..", "unnamed"),
        ("", "unnamed"),
        (".bashrc", "bashrc"),
        ("报告\x00.pdf", "报告_.pdf"),
        ("nul.txt", "_nul.txt"),
        ("报告. ", "报告"),
    ],
)
def test_safe_basename_derives_a_harmless_name(name: str, expected: str) -> None:
    assert safe_basename(name) == expected


def test_safe_basename_caps_length_and_keeps_the_extension() -> None:
    result = safe_basename("平" * 300 + ".pdf")
    assert result.endswith("平.pdf")
    assert len(result.encode("utf-8")) <= 200

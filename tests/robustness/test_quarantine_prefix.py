"""Issue 17, finding 3 (second half): the quarantine keeps only a bounded prefix of each
refused file, with the whole file's size and SHA-256 in the note beside it, so one valid
link cannot write hundreds of megabytes a minute; the portal's daily quarantine quota is
charged the bytes actually kept."""

from __future__ import annotations

import hashlib
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from pingan.adapters.intake.store import QUARANTINE_KEEP_BYTES
from pingan.core.problems import InputError
from pingan.portal.quota import Quota
from pingan.portal.ratelimit import Rate
from pingan.root.container import Container
from pingan.root.settings import load_settings
from pingan.services.collect import IntakeStores, collect_inbox
from pingan.services.tick import open_campaign
from tests.factories import SEED_CODE, Loaded, load_seed
from tests.portal.conftest import IN_SELF_CHECK, Clock, make_portal

MIB = 1024 * 1024
UNLIMITED = Rate(0, 0)


@pytest.fixture
def seeded(engine: Any, tmp_path: Path) -> Loaded:
    return load_seed(engine, tmp_path, cells=2)


def refused_copies(root: Path) -> tuple[list[Path], list[Path]]:
    """(kept files, reason notes) under a quarantine root."""
    files = sorted(p for p in root.rglob("*") if p.is_file())
    notes = [p for p in files if p.name.endswith(".reason.txt")]
    return [p for p in files if p not in notes], notes


def five_mib_of_junk() -> bytes:
    """5 MiB of no allowed type (an executable's head), so intake refuses it."""
    return b"MZ" + bytes(range(256)) * (5 * MIB // 256 - 1) + b"\0" * 254


def test_a_5_mb_refused_upload_keeps_only_the_prefix_and_notes_the_whole_file(
    seeded: Loaded, tmp_path: Path
) -> None:
    portal = make_portal(
        seeded,
        tmp_path,
        Clock(IN_SELF_CHECK),
        max_bytes=8 * MIB,
        quota=Quota(stored_bytes_per_day=0, quarantined_bytes_per_day=40 * MIB),
        token_rate=UNLIMITED,
        address_rate=UNLIMITED,
    )
    data = five_mib_of_junk()
    with portal.client:
        response = portal.upload(portal.url(portal.cell()), data, name="大文件.pdf")

    assert response.status_code == 415
    kept, notes = refused_copies(tmp_path / "quarantine")
    assert len(kept) == 1 and len(notes) == 1
    assert kept[0].read_bytes() == data[:QUARANTINE_KEEP_BYTES]
    note = notes[0].read_text(encoding="utf-8")
    assert f"文件大小:{len(data)} 字节" in note
    assert f"SHA-256:{hashlib.sha256(data).hexdigest()}" in note
    assert f"仅前 {QUARANTINE_KEEP_BYTES} 字节" in note
    charged = portal.seed.rows("SELECT quarantined_bytes AS n FROM portal_usage")
    assert [int(r.n) for r in charged] == [QUARANTINE_KEEP_BYTES]


def test_the_portal_charges_a_small_refused_file_its_whole_size(
    seeded: Loaded, tmp_path: Path
) -> None:
    portal = make_portal(
        seeded,
        tmp_path,
        Clock(IN_SELF_CHECK),
        quarantine_keep_bytes=4096,
        token_rate=UNLIMITED,
        address_rate=UNLIMITED,
    )
    with portal.client:
        small = portal.upload(portal.url(portal.cell()), b"MZ" + b"\0" * 998)
        big = portal.upload(portal.url(portal.cell()), b"MZ" + b"\1" * 99_998)

    assert (small.status_code, big.status_code) == (415, 415)
    kept, _ = refused_copies(tmp_path / "quarantine")
    assert sorted(p.stat().st_size for p in kept) == [1000, 4096]
    charged = portal.seed.rows("SELECT quarantined_bytes AS n FROM portal_usage")
    assert [int(r.n) for r in charged] == [1000 + 4096]


def test_a_refused_inbox_file_past_the_size_limit_keeps_only_its_prefix(
    seeded: Loaded, tmp_path: Path
) -> None:
    cell = seeded.rows("SELECT min(code) AS c FROM unit WHERE kind = 'cell'")[0].c
    folder = tmp_path / "inbox" / "self_check" / cell
    folder.mkdir(parents=True)
    data = b"%PDF-1.4\n" + b"0" * (3 * MIB)
    (folder / "超大.pdf").write_bytes(data)
    stores = IntakeStores(tmp_path / "evidence", tmp_path / "quarantine", MIB, 1000)
    handle = open_campaign(seeded.engine, SEED_CODE)

    report = collect_inbox(
        seeded.engine, handle, str(tmp_path / "inbox"), stores, as_of=date(2017, 6, 1)
    )

    assert report.by_reason == {"too_large": 1}
    kept, notes = refused_copies(tmp_path / "quarantine")
    assert [p.read_bytes() for p in kept] == [data[:1000]]
    note = notes[0].read_text(encoding="utf-8")
    assert f"文件大小:{len(data)} 字节" in note and hashlib.sha256(data).hexdigest() in note


def test_the_keep_bytes_setting_reaches_the_intake_stores(tmp_path: Path) -> None:
    settings = load_settings(home=tmp_path, quarantine_keep_bytes=1000)
    stores = Container(settings).intake_stores()

    assert stores.quarantine().keep_bytes == 1000


def test_a_negative_keep_bytes_setting_is_refused_in_chinese_naming_the_variable(
    tmp_path: Path,
) -> None:
    with pytest.raises(InputError) as caught:
        load_settings(home=tmp_path, quarantine_keep_bytes=-1)

    text = str(caught.value)
    assert "PINGAN_QUARANTINE_KEEP_BYTES" in text and "只保留说明" in text

"""Hostile submissions: crafted ZIP and OLE containers, random bytes behind every magic
number, and an inbox of files with hostile names and contents. inspect_file gives a verdict
(a rejection always with a Chinese reason) and never raises; collect files every one of
them — recorded, quarantined with a reason, or left for later — and never raises."""

from __future__ import annotations

import io
import struct
import zipfile
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given
from hypothesis import strategies as st
from sqlalchemy import Engine, text

from pingan.adapters.intake.checks import ALLOWED_TYPES, check_relative_name, inspect_file
from pingan.adapters.intake.collect import PROCESSED_DIR, IntakeRun, collect
from pingan.adapters.intake.store import EvidenceStore, Quarantine
from tests.factories import load_seed
from tests.robustness._hostile import CJK, hostile_settings, nasty_text

SETTINGS = hostile_settings(60)
MAX_BYTES = 64 * 1024
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
SHANGHAI = ZoneInfo("Asia/Shanghai")


def verdict_of(data: bytes, name: str = "报告.pdf") -> None:
    verdict = inspect_file(lambda: io.BytesIO(data), name, MAX_BYTES)
    if verdict.ok:
        assert verdict.detected_type in ALLOWED_TYPES and verdict.sha256
    else:
        assert verdict.reason_code and verdict.reason and CJK.search(verdict.reason)


# --- containers -------------------------------------------------------------------------

ole_words = st.one_of(
    st.sampled_from([0, 1, 2, 3, 109, 0xFFFFFFFA, 0xFFFFFFFB, 0xFFFFFFFE, 0xFFFFFFFF]),
    st.integers(0, 2**32 - 1),
)


@st.composite
def ole_files(draw: st.DrawFn) -> bytes:
    """An OLE header whose counts and sector chains point anywhere, then random sectors."""
    header = bytearray(draw(st.binary(min_size=512, max_size=512)))
    header[:8] = OLE_MAGIC
    struct.pack_into("<H", header, 30, draw(st.sampled_from([9, 12, 0, 16, 65535])))
    struct.pack_into("<II", header, 44, draw(ole_words), draw(ole_words))
    struct.pack_into("<II", header, 68, draw(ole_words), draw(ole_words))
    for i in range(109):
        struct.pack_into("<I", header, 76 + 4 * i, draw(ole_words) if i < 4 else 0xFFFFFFFF)
    sectors = bytearray()
    for _ in range(draw(st.integers(0, 8))):
        sector = bytearray(draw(st.binary(min_size=0, max_size=512)).ljust(512, b"\xff"))
        for j in range(draw(st.integers(0, 16))):
            struct.pack_into("<I", sector, (j * 4) % 508, draw(ole_words))
        if draw(st.booleans()):  # a directory entry that claims to be the root or a stream
            sector[66] = draw(st.sampled_from([1, 2, 5]))
            name = draw(st.sampled_from(["Root Entry", "WordDocument", "Workbook", "x"]))
            raw = name.encode("utf-16-le")
            sector[: len(raw)] = raw
            struct.pack_into("<H", sector, 64, draw(st.integers(0, 200)))
        sectors += sector
    return bytes(header + sectors)


@SETTINGS
@given(data=ole_files())
def test_crafted_ole_files_get_a_verdict(data: bytes) -> None:
    verdict_of(data, "报告.doc")


def _zip(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, content in members.items():
            zf.writestr(name, content)
    return out.getvalue()


DOCX = _zip({"[Content_Types].xml": b"<Types/>", "word/document.xml": b"<w:document/>"})


@SETTINGS
@given(
    at=st.integers(1, 120),
    value=st.integers(0, 255),
    tail=st.booleans(),
    extra=st.binary(max_size=64),
)
def test_zip_with_a_damaged_directory_gets_a_verdict(
    at: int, value: int, tail: bool, extra: bytes
) -> None:
    data = bytearray(DOCX)
    index = len(data) - at if tail else at
    data[index % len(data)] = value
    verdict_of(bytes(data) + extra, "报告.docx")


def test_zip_asking_for_a_newer_zip_version_is_rejected_as_bad_type() -> None:
    """One flipped byte in the central directory once stopped intake for everyone."""
    data = bytearray(DOCX)
    directory = data.rindex(b"PK\x01\x02")
    struct.pack_into("<H", data, directory + 6, 64)  # "version needed to extract": 6.4
    verdict = inspect_file(lambda: io.BytesIO(bytes(data)), "报告.docx", MAX_BYTES)
    assert (verdict.ok, verdict.reason_code) == (False, "bad_type")


@SETTINGS
@given(names=st.lists(nasty_text, min_size=1, max_size=4), flag=st.sampled_from([0, 0x800]))
@pytest.mark.filterwarnings("ignore:Duplicate name")
def test_zip_with_hostile_member_names_gets_a_verdict(names: list[str], flag: int) -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        for i, name in enumerate(names):
            info = zipfile.ZipInfo(name.replace("\x00", "") or f"m{i}")
            info.flag_bits |= flag
            try:
                zf.writestr(info, b"x")
            except UnicodeEncodeError:  # a lone surrogate cannot be written at all
                return
    verdict_of(out.getvalue(), "材料.zip")


@SETTINGS
@given(
    magic=st.sampled_from(
        [
            b"%PDF-",
            b"\xff\xd8\xff",
            b"\x89PNG\r\n\x1a\n",
            OLE_MAGIC,
            b"PK\x03\x04",
            b"PK\x05\x06",
            b"",
        ]
    ),
    body=st.binary(max_size=3000),
    name=nasty_text,
)
def test_any_bytes_behind_any_magic_number_get_a_verdict(
    magic: bytes, body: bytes, name: str
) -> None:
    verdict_of(magic + body, name)


@SETTINGS
@given(name=st.text(max_size=300))
def test_accepted_names_are_plain_relative_paths(name: str) -> None:
    problem = check_relative_name(name)
    if problem is not None:
        assert CJK.search(problem.message)
        return
    parts = name.split("/")
    assert all(p and p not in (".", "..") and p == p.strip() for p in parts)
    assert "\\" not in name and "\x00" not in name
    name.encode("utf-8")  # storable as it is


# --- a whole inbox ----------------------------------------------------------------------

segment = st.one_of(
    nasty_text.map(lambda s: s.replace("/", "").replace("\x00", "")[:60]),
    st.sampled_from(["self_check", "domain_plan", "local_plan", "..", ".", "CON", "~$a", "x.part"]),
)
contents = st.one_of(
    st.sampled_from([b"%PDF-1.4\n%%EOF\n", b"", b"MZ\x90\x00", DOCX, b"\xff\xd8\xff\xe0"]),
    st.binary(max_size=200),
    st.binary(max_size=64).map(lambda b: b"%PDF-" + b),
)


def _transient(part: str) -> bool:
    return part.startswith((".", "~$")) or part.lower().endswith((".part", ".tmp"))


@pytest.fixture
def seeded(engine: Engine, tmp_path: Path) -> Iterator[tuple[Engine, int, Path]]:
    loaded = load_seed(engine, tmp_path, cells=6)
    yield engine, loaded.cid, tmp_path


@hostile_settings(15, HealthCheck.function_scoped_fixture)
@given(
    files=st.lists(
        st.tuples(st.lists(segment, min_size=1, max_size=4), contents), min_size=1, max_size=8
    ),
    raw_name=st.binary(min_size=1, max_size=20).filter(
        lambda b: b"/" not in b and b"\x00" not in b
    ),
    use_unit=st.booleans(),
)
def test_an_inbox_of_hostile_files_is_collected_without_raising(
    seeded: tuple[Engine, int, Path],
    files: list[tuple[list[str], bytes]],
    raw_name: bytes,
    use_unit: bool,
) -> None:
    engine, cid, root = seeded
    with engine.connect() as conn:
        cell = conn.execute(
            text("SELECT min(code) FROM unit WHERE campaign_id = :c AND kind = 'cell'"), {"c": cid}
        ).scalar_one()
    unit = cell if use_unit else "SYN-NOPE"
    inbox = root / f"inbox-{len(list(root.glob('inbox-*')))}"
    made = 0
    for parts, data in files:
        parts = [p for p in parts if p not in ("", ".", "..")] or ["x"]
        if len(parts) == 1:
            parts = ["self_check", str(unit), *parts]
        path = inbox.joinpath(*parts)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        except (OSError, UnicodeEncodeError):
            continue  # the file system refused the name (too long, surrogates …)
        made += 1
    # A name that is not UTF-8 at all, as an old Windows uploader may leave.
    odd = bytes(inbox) + b"/self_check/" + str(unit).encode() + b"/" + raw_name
    try:
        with open(odd, "wb") as fh:
            fh.write(b"%PDF-1.4\n")
        made += 1
    except OSError:
        pass

    run = IntakeRun(
        engine=engine,
        campaign_id=cid,
        tz="Asia/Shanghai",
        received_at=datetime(2017, 6, 1, 10, tzinfo=SHANGHAI),
        evidence=EvidenceStore(root / "evidence"),
        quarantine=Quarantine(root / "quarantine"),
        max_bytes=MAX_BYTES,
    )
    report = collect(run, str(inbox))

    handled = report.accepted + report.duplicates + report.rejected + report.skipped
    assert handled >= 1 or made == 0
    assert all(CJK.search(reason) for _, _, reason in report.rejections)
    # Whatever was handled left the inbox; only what was skipped may remain, besides files
    # in hidden folders and uploaders' temp files, which intake never touches.
    waiting = [
        p
        for p in inbox.rglob("*")
        if p.is_file()
        and PROCESSED_DIR not in p.relative_to(inbox).parts
        and not any(_transient(part) for part in p.relative_to(inbox).parts)
    ]
    assert len(waiting) <= report.skipped

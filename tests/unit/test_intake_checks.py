"""Type sniffing, name safety and whole-file verdicts for submission intake."""

from __future__ import annotations

import hashlib
import io
import struct
import uuid
import zipfile
import zlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import BinaryIO

import fsspec
import openpyxl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pingan.adapters.intake.checks import (
    ALLOWED_TYPES,
    CHUNK_SIZE,
    HEAD_SIZE,
    REASONS,
    check_relative_name,
    inspect_file,
    reason_message,
    sniff_type,
)

MIB = 1024 * 1024

# --- sample files -----------------------------------------------------------------------

PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)
JPG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xd9"
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 48
TEXT = "这不是 PDF,只是一段文字。\n".encode()


def png_bytes() -> bytes:
    ihdr = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    return (
        b"\x89PNG\r\n\x1a\n"
        + struct.pack(">I", len(ihdr))
        + chunk
        + struct.pack(">I", zlib.crc32(chunk))
    )


def zip_bytes(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def docx_bytes() -> bytes:
    return zip_bytes(
        {
            "[Content_Types].xml": b"<Types/>",
            "_rels/.rels": b"<Relationships/>",
            "word/document.xml": b"<w:document/>",
        }
    )


def xlsx_bytes() -> bytes:
    wb = openpyxl.Workbook()
    wb.active["A1"] = "单位编码"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def ofd_bytes() -> bytes:
    return zip_bytes({"OFD.xml": b"<ofd:OFD/>", "Doc_0/Document.xml": b"<ofd:Document/>"})


def plain_zip_bytes() -> bytes:
    return zip_bytes({"自查报告.pdf": PDF, "照片/1.jpg": JPG})


_FREE = 0xFFFFFFFF
_END = 0xFFFFFFFE
_FATSECT = 0xFFFFFFFD


def _dir_entry(name: str, kind: int, left: int, right: int, child: int) -> bytes:
    encoded = name.encode("utf-16-le") + b"\0\0" if name else b""
    return (
        encoded.ljust(64, b"\0")
        + struct.pack("<HBBIII", len(encoded), kind, 1, left, right, child)
        + b"\0" * 36
        + struct.pack("<IQ", _END, 0)
    )


def cfb_bytes(
    streams: Sequence[str], storages: dict[str, Sequence[str]] | None = None, pad_sectors: int = 0
) -> bytes:
    """A version-3 compound file whose root holds streams and storages (with streams).

    pad_sectors of filler come before the directory, to push it past the head.
    """
    # (name, type, children); siblings are chained through "right" for simplicity.
    top: list[tuple[str, int, Sequence[str]]] = [(s, 2, ()) for s in streams]
    top += [(name, 1, kids) for name, kids in (storages or {}).items()]
    entries: list[bytes] = [b""]  # root, filled in below
    first_child = 1

    def add_level(items: list[tuple[str, int, Sequence[str]]]) -> int:
        start = len(entries)
        entries.extend(b"" for _ in items)
        for i, (name, kind, kids) in enumerate(items):
            child = add_level([(k, 2, ()) for k in kids]) if kids else _FREE
            right = start + i + 1 if i + 1 < len(items) else _FREE
            entries[start + i] = _dir_entry(name, kind, _FREE, right, child)
        return start

    add_level(top)
    entries[0] = _dir_entry("Root Entry", 5, _FREE, _FREE, first_child if top else _FREE)
    while len(entries) % 4:
        entries.append(_dir_entry("", 0, _FREE, _FREE, _FREE))
    dir_sectors = len(entries) // 4
    n_fat = 1
    while n_fat * 128 < n_fat + pad_sectors + dir_sectors:
        n_fat += 1
    assert n_fat <= 109
    first_dir = n_fat + pad_sectors
    fat = [_FATSECT] * n_fat + [_FREE] * pad_sectors
    fat += [first_dir + i + 1 for i in range(dir_sectors - 1)] + [_END]
    fat += [_FREE] * (n_fat * 128 - len(fat))
    header = (
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
        + b"\0" * 16
        + struct.pack("<HHHHH", 0x3E, 3, 0xFFFE, 9, 6)
        + b"\0" * 6
        + struct.pack("<IIIIIIIII", 0, n_fat, first_dir, 0, 4096, _END, 0, _END, 0)
        + struct.pack("<109I", *range(n_fat), *([_FREE] * (109 - n_fat)))
    )
    assert len(header) == 512
    return (
        header
        + struct.pack(f"<{len(fat)}I", *fat)
        + b"\0" * (512 * pad_sectors)
        + b"".join(entries)
    )


def opener_of(data: bytes) -> Callable[[], BinaryIO]:
    return lambda: io.BytesIO(data)


def never_opened() -> BinaryIO:
    raise AssertionError("the file should not have been opened")


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


# --- sniff_type -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (PDF, "pdf"),
        (JPG, "jpg"),
        (png_bytes(), "png"),
        (docx_bytes(), "docx"),
        (xlsx_bytes(), "xlsx"),
        (ofd_bytes(), "ofd"),
        (plain_zip_bytes(), "zip"),
        (zip_bytes({}), "zip"),
        (cfb_bytes(["WordDocument", "1Table", "\x05SummaryInformation"]), "doc"),
        (cfb_bytes(["Workbook", "\x05SummaryInformation"]), "xls"),
        (cfb_bytes(["Book"]), "xls"),
    ],
    ids=["pdf", "jpg", "png", "docx", "xlsx", "ofd", "zip", "empty-zip", "doc", "xls", "xls95"],
)
def test_sniff_type_recognises_each_allowed_format_by_content(data: bytes, expected: str) -> None:
    assert sniff_type(data[:HEAD_SIZE], lambda: zipfile.ZipFile(io.BytesIO(data))) == expected


def test_sniff_type_reads_a_whole_zip_from_the_head_when_no_opener_is_given() -> None:
    assert sniff_type(docx_bytes()) == "docx"


def test_sniff_type_rejects_a_corrupt_zip() -> None:
    assert sniff_type(b"PK\x03\x04" + b"\x00garbage" * 20) is None


def test_sniff_type_finds_word_stream_name_in_a_bare_ole_header() -> None:
    head = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 504 + "WordDocument".encode("utf-16-le")
    assert sniff_type(head) == "doc"


def test_sniff_type_rejects_ole_file_that_is_neither_word_nor_excel() -> None:
    ppt = cfb_bytes(["PowerPoint Document", "Current User"])
    assert sniff_type(ppt) is None


def test_sniff_type_rejects_bare_ole_header_without_known_stream_names() -> None:
    assert sniff_type(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 1000) is None


def test_sniff_type_ignores_streams_of_embedded_objects() -> None:
    xls_with_embedded_doc = cfb_bytes(["Workbook"], {"MBD0001": ["WordDocument", "1Table"]})
    doc_with_embedded_xls = cfb_bytes(["WordDocument"], {"ObjectPool": ["Workbook"]})
    assert sniff_type(xls_with_embedded_doc) == "xls"
    assert sniff_type(doc_with_embedded_xls) == "doc"


def test_sniff_type_follows_ole_directory_beyond_the_head_when_given_the_file() -> None:
    data = cfb_bytes(["Workbook"], pad_sectors=2 * HEAD_SIZE // 512)
    assert len(data) > HEAD_SIZE
    assert sniff_type(data[:HEAD_SIZE]) is None
    assert sniff_type(data[:HEAD_SIZE], open_file=opener_of(data)) == "xls"


@pytest.mark.parametrize("data", [EXE, TEXT, b"", b"%PD", b"<html><body>%PDF-</body></html>"])
def test_sniff_type_returns_none_for_unrecognised_content(data: bytes) -> None:
    assert sniff_type(data) is None


@settings(max_examples=300)
@given(
    prefix=st.sampled_from(
        [b"", b"PK\x03\x04", b"PK\x05\x06", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", b"%PDF-"]
    ),
    body=st.binary(max_size=2048),
)
def test_sniff_type_never_raises_on_arbitrary_bytes(prefix: bytes, body: bytes) -> None:
    data = prefix + body
    result = sniff_type(data, open_file=opener_of(data))
    assert result is None or result in ALLOWED_TYPES


# --- check_relative_name ----------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "自查报告.pdf",
        "社区平安细胞/A001/自查报告(2024年).docx",
        "照片 1.jpg",
        ".hidden-but-harmless.txt",
        "CONTACT.pdf",
        "COM10.txt",
        "平" * 83 + ".pdf",
    ],
)
def test_check_relative_name_accepts_ordinary_names(name: str) -> None:
    assert check_relative_name(name) is None


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("", "empty_name"),
        ("/etc/passwd", "absolute_path"),
        ("C:\\Windows\\win.ini", "absolute_path"),
        ("c:/x.pdf", "absolute_path"),
        ("D:报告.pdf", "absolute_path"),
        ("\\\\server\\share\\x.pdf", "absolute_path"),
        ("..", "parent_segment"),
        ("../secret.pdf", "parent_segment"),
        ("a/../../b.pdf", "parent_segment"),
        ("a/..", "parent_segment"),
        ("a\\b.pdf", "backslash"),
        ("报告\x00.pdf", "control_char"),
        ("报告\n.pdf", "control_char"),
        ("报告\x7f.pdf", "control_char"),
        ("报告\x85.pdf", "control_char"),
        ("报告\u202egpj.exe", "control_char"),
        ("报告\u2066.pdf", "control_char"),
        ("报告\udcff.pdf", "bad_encoding"),
        ("报告.pdf:evil", "reserved_char"),
        ("报告?.pdf", "reserved_char"),
        ("平" * 84 + ".pdf", "too_long"),
        ("a" * 256, "too_long"),
        (" 报告.pdf", "edge_space"),
        ("报告.pdf ", "edge_space"),
        ("\u3000报告.pdf", "edge_space"),
        ("目录 /报告.pdf", "edge_space"),
        (".", "bad_dots"),
        ("...", "bad_dots"),
        ("a/./b.pdf", "bad_dots"),
        ("报告.", "bad_dots"),
        ("a//b.pdf", "empty_segment"),
        ("a/", "empty_segment"),
        ("CON", "reserved_name"),
        ("con.pdf", "reserved_name"),
        ("Nul.tar.gz", "reserved_name"),
        ("资料/aux/报告.pdf", "reserved_name"),
        ("COM1.docx", "reserved_name"),
        ("lpt9", "reserved_name"),
        ("COM1 .txt", "reserved_name"),
    ],
)
def test_check_relative_name_rejects_hostile_name(name: str, code: str) -> None:
    problem = check_relative_name(name)
    assert problem is not None
    assert problem.code == code
    assert problem.message


def test_check_relative_name_names_the_reserved_segment_in_its_message() -> None:
    problem = check_relative_name("资料/PRN.pdf")
    assert problem is not None
    assert problem.message == "“PRN.pdf”是 Windows 系统保留名称,不能用作文件名或目录名"


_PATHISH = st.text(alphabet=st.sampled_from(list("./\\: ~a平C0N\x00\u202e")), max_size=20)
_ANY_TEXT = st.text(alphabet=st.characters(exclude_categories=()), max_size=40)
_ROOT = Path("/srv/pingan-intake-root")


@settings(max_examples=500)
@given(name=st.one_of(_PATHISH, _ANY_TEXT, st.text(max_size=300)))
def test_check_relative_name_never_raises_and_accepted_names_stay_inside_root(name: str) -> None:
    problem = check_relative_name(name)
    if problem is None:
        assert (_ROOT / name).resolve().is_relative_to(_ROOT.resolve())
        assert (_ROOT / name).resolve() != _ROOT.resolve()
    else:
        assert problem.code
        assert problem.message


# --- inspect_file -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "data", "expected"),
    [
        ("自查报告.pdf", PDF, "pdf"),
        ("现场照片.jpg", JPG, "jpg"),
        ("截图.png", png_bytes(), "png"),
        ("工作方案.docx", docx_bytes(), "docx"),
        ("台账.xlsx", xlsx_bytes(), "xlsx"),
        ("公文.ofd", ofd_bytes(), "ofd"),
        ("附件.zip", plain_zip_bytes(), "zip"),
        ("旧版方案.doc", cfb_bytes(["WordDocument", "1Table"]), "doc"),
        ("旧版台账.xls", cfb_bytes(["Workbook"]), "xls"),
    ],
)
def test_inspect_file_accepts_allowed_file_from_a_local_path(
    tmp_path: Path, name: str, data: bytes, expected: str
) -> None:
    verdict = inspect_file(write(tmp_path, name, data), name, max_bytes=MIB)
    assert verdict.ok
    assert verdict.reason_code is None
    assert verdict.reason is None
    assert verdict.detected_type == expected
    assert verdict.size == len(data)
    assert verdict.sha256 == hashlib.sha256(data).hexdigest()


def test_inspect_file_reads_through_an_fsspec_opener() -> None:
    fs = fsspec.filesystem("memory")
    path = f"/intake-{uuid.uuid4().hex}/A001/台账.xlsx"
    data = xlsx_bytes()
    fs.pipe(path, data)
    try:
        verdict = inspect_file(lambda: fs.open(path, "rb"), "A001/台账.xlsx", max_bytes=MIB)
    finally:
        fs.rm(path)
    assert verdict.ok
    assert verdict.detected_type == "xlsx"
    assert verdict.sha256 == hashlib.sha256(data).hexdigest()


def test_inspect_file_recognises_large_doc_whose_directory_lies_beyond_the_head() -> None:
    data = cfb_bytes(["WordDocument"], pad_sectors=2 * HEAD_SIZE // 512)
    verdict = inspect_file(opener_of(data), "方案.doc", max_bytes=MIB)
    assert verdict.detected_type == "doc"
    assert verdict.ok


def test_inspect_file_rejects_executable_renamed_to_pdf(tmp_path: Path) -> None:
    verdict = inspect_file(write(tmp_path, "report.pdf", EXE), "report.pdf", max_bytes=MIB)
    assert not verdict.ok
    assert verdict.reason_code == "bad_type"
    assert verdict.detected_type is None
    assert verdict.reason == (
        "文件类型不在允许范围内(仅接受 PDF、OFD、Word、Excel、JPG、PNG、ZIP),按内容识别为:未知"
    )
    assert verdict.sha256 == hashlib.sha256(EXE).hexdigest()


def test_inspect_file_rejects_text_file_named_pdf(tmp_path: Path) -> None:
    verdict = inspect_file(write(tmp_path, "自查报告.pdf", TEXT), "自查报告.pdf", max_bytes=MIB)
    assert not verdict.ok
    assert verdict.reason_code == "bad_type"


def test_inspect_file_rejects_recognised_type_outside_the_allowed_set() -> None:
    verdict = inspect_file(
        opener_of(docx_bytes()), "方案.docx", max_bytes=MIB, allowed_types=("pdf", "ofd")
    )
    assert verdict.reason_code == "bad_type"
    assert verdict.detected_type == "docx"
    assert verdict.reason == "文件类型不在允许范围内(仅接受 PDF、OFD),按内容识别为:Word(DOCX)"


def test_inspect_file_rejects_empty_file() -> None:
    verdict = inspect_file(opener_of(b""), "自查报告.pdf", max_bytes=MIB)
    assert not verdict.ok
    assert verdict.reason_code == "empty"
    assert verdict.size == 0
    assert verdict.reason == REASONS["empty"]


def test_inspect_file_rejects_unsafe_name_without_opening_the_file() -> None:
    verdict = inspect_file(never_opened, "../../etc/passwd", max_bytes=MIB)
    assert not verdict.ok
    assert verdict.reason_code == "unsafe_name"
    assert verdict.reason == "文件名不符合要求:路径中不得含有“..”(上级目录)"
    assert verdict.sha256 is None


class Tripwire(io.BytesIO):
    """A file that fails the test if read further than allowed."""

    def __init__(self, data: bytes, allowed: int) -> None:
        super().__init__(data)
        self.allowed = allowed

    def read(self, size: int | None = -1, /) -> bytes:
        chunk = super().read(size)
        assert self.tell() <= self.allowed, f"read {self.tell()} bytes, allowed {self.allowed}"
        return chunk


def test_inspect_file_stops_reading_once_the_size_limit_is_exceeded() -> None:
    limit = 2 * MIB
    data = b"%PDF-" + b"\0" * (10 * MIB)
    verdict = inspect_file(lambda: Tripwire(data, limit + CHUNK_SIZE), "大文件.pdf", limit)
    assert not verdict.ok
    assert verdict.reason_code == "too_large"
    assert verdict.sha256 is None
    assert limit < verdict.size <= limit + CHUNK_SIZE
    assert verdict.reason == "文件超过大小上限(上限 2 MB,实际至少 3 MB)"


def test_inspect_file_refuses_file_declared_too_large_without_opening_it() -> None:
    verdict = inspect_file(never_opened, "扫描件.pdf", 20 * MIB, declared_size=int(21.35 * MIB))
    assert verdict.reason_code == "too_large"
    assert verdict.size == int(21.35 * MIB)
    assert verdict.reason == "文件超过大小上限(上限 20 MB,实际至少 21.3 MB)"


def test_inspect_file_shows_exact_bytes_when_rounded_sizes_would_look_equal() -> None:
    verdict = inspect_file(never_opened, "扫描件.pdf", 20 * MIB, declared_size=20 * MIB + 10)
    assert verdict.reason == "文件超过大小上限(上限 20971520 字节,实际至少 20971530 字节)"


def test_inspect_file_accepts_file_of_exactly_the_size_limit() -> None:
    data = PDF + b"\n" * (3000 - len(PDF))
    verdict = inspect_file(opener_of(data), "报告.pdf", max_bytes=3000)
    assert verdict.ok
    assert verdict.size == 3000


def test_inspect_file_closes_every_file_it_opens() -> None:
    opened: list[io.BytesIO] = []

    def tracking_open() -> BinaryIO:
        f = io.BytesIO(docx_bytes())
        opened.append(f)
        return f

    inspect_file(tracking_open, "方案.docx", max_bytes=MIB)
    assert len(opened) >= 2
    assert all(f.closed for f in opened)


# --- REASONS ----------------------------------------------------------------------------


def test_reasons_cover_the_codes_other_intake_steps_report() -> None:
    for code in (
        "too_large",
        "empty",
        "unsafe_name",
        "bad_type",
        "unknown_unit",
        "unknown_kind",
        "gate_not_open",
        "withdrawn_unit",
        "bad_layout",
        "manifest_row",
    ):
        assert REASONS[code]


def test_reason_message_fills_placeholders() -> None:
    assert reason_message("unknown_unit", code="A999") == "单位编码 A999 不在本次创建活动名册中"
    assert reason_message("gate_not_open", opens_on="2025年3月1日") == (
        "该项材料自 2025年3月1日 起方可报送"
    )

"""Checks on one submitted file that need no database: name, size, type and digest.

The type is told from the content, never from the extension, because units rename files
(an .exe called 报告.pdf, a scan saved as .doc) and the extension is the one thing a hostile
or careless sender controls completely.

Every rejection carries a stable English reason code and a Chinese message taken from
REASONS, so that checks in other modules report in the same voice.
"""

from __future__ import annotations

import hashlib
import io
import re
import struct
import unicodedata
import zipfile
from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

ALLOWED_TYPES = ("pdf", "ofd", "doc", "docx", "xls", "xlsx", "jpg", "png", "zip")

CHUNK_SIZE = 1024 * 1024
# Enough for every magic number and, in small OLE files, the whole directory.
HEAD_SIZE = 64 * 1024

Opener = Callable[[], BinaryIO]

REASONS: dict[str, str] = {
    "too_large": "文件超过大小上限(上限 {limit},实际至少 {actual})",
    "empty": "文件为空(0 字节),请核实后重新报送",
    "unsafe_name": "文件名不符合要求:{detail}",
    "bad_type": "文件类型不在允许范围内(仅接受 {allowed}),按内容识别为:{detected}",
    "unknown_unit": "单位编码 {code} 不在本次创建活动名册中",
    "unknown_kind": "材料类别 {kind} 不是本次创建活动规定的材料",
    "gate_not_open": "该项材料自 {opens_on} 起方可报送",
    "withdrawn_unit": "单位 {code} 已退出本次创建活动,不再接收其报送材料",
    "bad_layout": "文件须放在 <材料类别>/<单位编码>/ 目录下",
    "manifest_row": "报送清单第 {row} 行有误:{detail}",
}


def reason_message(reason_code: str, /, **fields: object) -> str:
    """The Chinese message for a reason code, with its placeholders filled in."""
    # Positional-only, so that a placeholder may itself be called "code".
    return REASONS[reason_code].format(**fields)


# --- type sniffing ----------------------------------------------------------------------

_PDF_MAGIC = b"%PDF-"
_JPG_MAGIC = b"\xff\xd8\xff"
_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")

_TYPE_LABELS = {
    "pdf": "PDF",
    "ofd": "OFD",
    "doc": "Word",
    "docx": "Word",
    "xls": "Excel",
    "xlsx": "Excel",
    "jpg": "JPG",
    "png": "PNG",
    "zip": "ZIP",
}


def sniff_type(
    head: bytes,
    open_zip: Callable[[], zipfile.ZipFile] | None = None,
    *,
    open_file: Opener | None = None,
) -> str | None:
    """Return one of ALLOWED_TYPES judged from the content, or None when unrecognised.

    head is the start of the file (HEAD_SIZE bytes or the whole file if shorter).
    open_zip gives the whole file as a ZipFile; without it the head must hold the whole
    archive. open_file gives random access to the whole file, needed for Word/Excel 97
    files whose directory lies beyond the head; without it only the head is read.
    """
    if head.startswith(_PDF_MAGIC):
        return "pdf"
    if head.startswith(_JPG_MAGIC):
        return "jpg"
    if head.startswith(_PNG_MAGIC):
        return "png"
    if head.startswith(_OLE_MAGIC):
        return _sniff_ole(head, open_file)
    if head.startswith(_ZIP_MAGICS):
        return _sniff_zip(head, open_zip)
    return None


def _sniff_zip(head: bytes, open_zip: Callable[[], zipfile.ZipFile] | None) -> str | None:
    try:
        with open_zip() if open_zip is not None else zipfile.ZipFile(io.BytesIO(head)) as zf:
            names = zf.namelist()
    # ValueError: a member name flagged as UTF-8 that is not, i.e. a damaged archive.
    # NotImplementedError: a directory entry asking for a newer ZIP version than Python
    # reads (one flipped byte does it); such a file must be rejected, not stop intake.
    except (zipfile.BadZipFile, EOFError, ValueError, NotImplementedError):
        return None
    if "[Content_Types].xml" in names:
        if any(n.startswith("word/") for n in names):
            return "docx"
        if any(n.startswith("xl/") for n in names):
            return "xlsx"
    if "OFD.xml" in names:
        return "ofd"
    return "zip"


# Compound File Binary format (MS-CFB) constants.
_MAX_REG_SECT = 0xFFFFFFFA
_END_OF_CHAIN = 0xFFFFFFFE
_NO_STREAM = 0xFFFFFFFF
_DIR_ENTRY = 128
_OBJ_STREAM = 2
_OBJ_ROOT = 5
# Bounds the directory walk so a crafted file cannot keep us busy.
_MAX_ENTRIES = 65536


def _sniff_ole(head: bytes, open_file: Opener | None) -> str | None:
    if open_file is not None:
        with open_file() as f:
            names = _ole_root_stream_names(_file_reader(f))
    else:
        names = _ole_root_stream_names(lambda off, n: head[off : off + n])
    if names is None:
        # The directory is damaged or out of reach: fall back to spotting the stream
        # names anywhere in the head, Word first because a .doc may embed a workbook.
        if "WordDocument".encode("utf-16-le") in head:
            return "doc"
        if "Workbook".encode("utf-16-le") in head or "Book\0".encode("utf-16-le") in head:
            return "xls"
        return None
    # Only top-level streams count: an embedded object keeps its own streams in a
    # sub-storage, so an Excel sheet pasted into Word must not make the .doc an .xls.
    if "WORDDOCUMENT" in names:
        return "doc"
    if "WORKBOOK" in names or "BOOK" in names:
        return "xls"
    return None


def _file_reader(f: BinaryIO) -> Callable[[int, int], bytes]:
    def read_at(offset: int, size: int) -> bytes:
        f.seek(offset)
        return f.read(size)

    return read_at


def _ole_root_stream_names(read_at: Callable[[int, int], bytes]) -> set[str] | None:
    """Upper-cased names of the streams directly under the root, or None if unreadable."""
    header = read_at(0, 512)
    if len(header) < 512:
        return None
    (shift,) = struct.unpack_from("<H", header, 30)
    if shift not in (9, 12):
        return None
    sector_size = 1 << shift
    per_sector = sector_size // 4
    (n_fat, first_dir) = struct.unpack_from("<II", header, 44)
    (first_difat, n_difat) = struct.unpack_from("<II", header, 68)

    def sector(sid: int) -> bytes | None:
        data = read_at((sid + 1) * sector_size, sector_size)
        return data if len(data) == sector_size else None

    fat_sids = [s for s in struct.unpack_from("<109I", header, 76) if s <= _MAX_REG_SECT]
    sid, seen = first_difat, set[int]()
    while sid <= _MAX_REG_SECT and len(seen) < n_difat and sid not in seen:
        seen.add(sid)
        data = sector(sid)
        if data is None:
            return None
        entries = struct.unpack(f"<{per_sector}I", data)
        fat_sids.extend(s for s in entries[:-1] if s <= _MAX_REG_SECT)
        sid = entries[-1]
    fat_sids = fat_sids[:n_fat]

    fat_cache: dict[int, tuple[int, ...]] = {}

    def next_sid(sid: int) -> int | None:
        index = sid // per_sector
        if index >= len(fat_sids):
            return None
        if index not in fat_cache:
            data = sector(fat_sids[index])
            if data is None:
                return None
            fat_cache[index] = struct.unpack(f"<{per_sector}I", data)
        following: int = fat_cache[index][sid % per_sector]
        return following

    dir_sids: list[int] = []
    dir_seen: set[int] = set()
    step: int | None = first_dir
    while step != _END_OF_CHAIN:
        if (
            step is None
            or step > _MAX_REG_SECT
            or step in dir_seen
            or len(dir_seen) >= _MAX_ENTRIES
        ):
            return None
        dir_seen.add(step)
        dir_sids.append(step)
        step = next_sid(step)

    entries_per_sector = sector_size // _DIR_ENTRY

    def entry(did: int) -> bytes | None:
        index = did // entries_per_sector
        if index >= len(dir_sids):
            return None
        offset = (dir_sids[index] + 1) * sector_size + (did % entries_per_sector) * _DIR_ENTRY
        data = read_at(offset, _DIR_ENTRY)
        return data if len(data) == _DIR_ENTRY else None

    root = entry(0)
    if root is None or root[66] != _OBJ_ROOT:
        return None
    names: set[str] = set()
    pending = [struct.unpack_from("<I", root, 76)[0]]
    visited: set[int] = set()
    while pending:
        did = pending.pop()
        if did == _NO_STREAM or did in visited:
            continue
        if len(visited) >= _MAX_ENTRIES:
            return None
        visited.add(did)
        data = entry(did)
        if data is None:
            return None
        (name_len,) = struct.unpack_from("<H", data, 64)
        if data[66] == _OBJ_STREAM and 2 <= name_len <= 64:
            names.add(data[: name_len - 2].decode("utf-16-le", errors="replace").upper())
        left, right = struct.unpack_from("<II", data, 68)
        pending.extend((left, right))
    return names


# --- names ------------------------------------------------------------------------------


@dataclass(frozen=True)
class NameProblem:
    code: str
    message: str


_NAME_MESSAGES = {
    "empty_name": "文件名为空",
    "bad_encoding": "文件名编码无效,请使用 UTF-8 编码的文件名",
    "control_char": "文件名中含有控制字符或不可见的文字方向控制符",
    "absolute_path": "不得使用绝对路径或盘符,请使用相对路径",
    "backslash": "路径中不得含有反斜杠“\\”,目录之间请用“/”分隔",
    "reserved_char": '文件名中不得含有下列字符:< > : " | ? *',
    "empty_segment": "路径中不得有空的目录名(如连续的“/”或以“/”开头、结尾)",
    "parent_segment": "路径中不得含有“..”(上级目录)",
    "bad_dots": "文件名或目录名不得仅由“.”组成,也不得以“.”结尾",
    "edge_space": "文件名或目录名首尾不得有空格",
    "too_long": "文件名或目录名过长(每一级不超过 255 字节,约 85 个汉字)",
    "reserved_name": "“{segment}”是 Windows 系统保留名称,不能用作文件名或目录名",
}

# Bidi controls let "exe.pdf" display as "fdp.exe"; treated like control characters.
_BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)
WINDOWS_RESERVED_CHARS = frozenset('<>:"|?*')
_WINDOWS_RESERVED_NAMES = frozenset(
    {"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"}
    | {f"{dev}{n}" for dev in ("COM", "LPT") for n in "123456789¹²³"}
)
_DRIVE = re.compile(r"[A-Za-z]:")
_MAX_SEGMENT_BYTES = 255


def _problem(code: str, **fields: str) -> NameProblem:
    return NameProblem(code, _NAME_MESSAGES[code].format(**fields))


def is_unsafe_char(ch: str) -> bool:
    """Control, bidi-override or lone-surrogate character: never kept in a name."""
    return ch in _BIDI_CONTROLS or unicodedata.category(ch) in ("Cc", "Cs")


def is_windows_device_name(segment: str) -> bool:
    """True for CON, nul.txt, "Com1 .pdf" …: Windows opens the device, not a file."""
    return segment.split(".", 1)[0].rstrip(" ").upper() in _WINDOWS_RESERVED_NAMES


def check_relative_name(name: str) -> NameProblem | None:
    """Why name is not a safe "/"-separated relative path, or None if it is.

    Safe means it stays inside whatever directory it is joined to, on POSIX and on
    Windows, and shows the same text to every reader.
    """
    if not name:
        return _problem("empty_name")
    # Lone surrogates come from undecodable bytes (surrogateescape) and cannot be
    # written back as UTF-8.
    if any(unicodedata.category(ch) == "Cs" for ch in name):
        return _problem("bad_encoding")
    if any(is_unsafe_char(ch) for ch in name):
        return _problem("control_char")
    if name.startswith(("/", "\\")) or _DRIVE.match(name):
        return _problem("absolute_path")
    if "\\" in name:
        return _problem("backslash")
    # ":" also opens NTFS alternate data streams ("报告.pdf:x").
    if any(ch in WINDOWS_RESERVED_CHARS for ch in name):
        return _problem("reserved_char")
    for segment in name.split("/"):
        problem = _check_segment(segment)
        if problem is not None:
            return problem
    return None


def _check_segment(segment: str) -> NameProblem | None:
    if not segment:
        return _problem("empty_segment")
    if segment == "..":
        return _problem("parent_segment")
    # Windows drops trailing dots, so "报告." and "报告" would be the same file there.
    if segment.endswith("."):
        return _problem("bad_dots")
    if segment != segment.strip():
        return _problem("edge_space")
    if len(segment.encode("utf-8")) > _MAX_SEGMENT_BYTES:
        return _problem("too_long")
    if is_windows_device_name(segment):
        return _problem("reserved_name", segment=segment)
    return None


# --- whole file -------------------------------------------------------------------------


@dataclass(frozen=True)
class FileVerdict:
    """Outcome of inspect_file.

    size is the number of bytes read, or the declared size when that was larger, so for
    too_large it is a lower bound. sha256 is set whenever the whole file was read.
    """

    ok: bool
    reason_code: str | None
    reason: str | None
    detected_type: str | None
    size: int
    sha256: str | None


def inspect_file(
    source: Path | Opener,
    name: str,
    max_bytes: int,
    *,
    declared_size: int | None = None,
    allowed_types: Collection[str] = ALLOWED_TYPES,
) -> FileVerdict:
    """Check one file: its relative name, size, type by content, and digest.

    source is a local path or a callable opening the file for binary reading (e.g.
    ``lambda: fs.open(p, "rb")`` for fsspec). The file is streamed once for the digest;
    Word/Excel/ZIP files are reopened to read their directory. declared_size, when
    known (from a listing), lets an oversized file be refused without reading it.
    I/O errors propagate: they are not the sender's fault and must not become a verdict.
    """
    if max_bytes < 0:
        raise ValueError("max_bytes must not be negative")
    opener: Opener = (lambda: source.open("rb")) if isinstance(source, Path) else source

    problem = check_relative_name(name)
    if problem is not None:
        return _rejected("unsafe_name", size=declared_size or 0, detail=problem.message)
    if declared_size is not None and declared_size > max_bytes:
        return _too_large(declared_size, max_bytes)

    digest = hashlib.sha256()
    size = 0
    head = bytearray()
    with opener() as f:
        while chunk := f.read(CHUNK_SIZE):
            size += len(chunk)
            if size > max_bytes:
                return _too_large(max(size, declared_size or 0), max_bytes)
            digest.update(chunk)
            if len(head) < HEAD_SIZE:
                head += chunk[: HEAD_SIZE - len(head)]
    sha256 = digest.hexdigest()
    if size == 0:
        return _rejected("empty", size=0, sha256=sha256)

    detected = _sniff_reopening(bytes(head), opener)
    if detected is None or detected not in allowed_types:
        return _rejected(
            "bad_type",
            size=size,
            sha256=sha256,
            detected_type=detected,
            allowed=_allowed_label(allowed_types),
            detected=_detected_label(detected),
        )
    return FileVerdict(True, None, None, detected, size, sha256)


def _sniff_reopening(head: bytes, opener: Opener) -> str | None:
    # ZipFile does not close a file object it was handed, so keep hold of them here.
    opened: list[BinaryIO] = []

    def open_zip() -> zipfile.ZipFile:
        f = opener()
        opened.append(f)
        return zipfile.ZipFile(f)

    try:
        return sniff_type(head, open_zip, open_file=opener)
    finally:
        for f in opened:
            f.close()


def _rejected(
    code: str,
    *,
    size: int,
    detected_type: str | None = None,
    sha256: str | None = None,
    **fields: object,
) -> FileVerdict:
    return FileVerdict(False, code, reason_message(code, **fields), detected_type, size, sha256)


def _too_large(actual: int, limit: int) -> FileVerdict:
    limit_text, actual_text = _format_size(limit), _format_size(actual)
    # Rounding can show "上限 20 MB,实际至少 20 MB"; exact bytes avoid the contradiction.
    if limit_text == actual_text:
        limit_text, actual_text = f"{limit} 字节", f"{actual} 字节"
    return _rejected("too_large", size=actual, limit=limit_text, actual=actual_text)


def _format_size(n: int) -> str:
    if n >= 1024 * 1024:
        unit, scale = "MB", 1024 * 1024
    elif n >= 1024:
        unit, scale = "KB", 1024
    else:
        return f"{n} 字节"
    # Truncate rather than round: the figure is read as "at least".
    whole, tenths = divmod(n * 10 // scale, 10)
    return f"{whole} {unit}" if tenths == 0 else f"{whole}.{tenths} {unit}"


def _allowed_label(allowed_types: Collection[str]) -> str:
    labels = dict.fromkeys(_TYPE_LABELS.get(t, t.upper()) for t in allowed_types)
    return "、".join(labels)


def _detected_label(detected: str | None) -> str:
    if detected is None:
        return "未知"
    group = _TYPE_LABELS.get(detected, detected.upper())
    return group if group == detected.upper() else f"{group}({detected.upper()})"

"""The verdict on one whole file: name, size, type by content and digest, with the reason
for a rejection in Chinese."""

from __future__ import annotations

import hashlib
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

from pingan.adapters.intake.checks.names import check_relative_name
from pingan.adapters.intake.checks.sniff import ALLOWED_TYPES, HEAD_SIZE, Opener, examine

CHUNK_SIZE = 1024 * 1024

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
    "type_mismatch": "文件内容与扩展名不符:扩展名为 {ext},按内容识别为 {detected},请核实后重新报送",
    "unsafe_archive": "压缩文件不安全,不予接收:{detail}",
    "macro_document": "文档{detail},可能携带恶意代码,请另存为不含宏的文档后重新报送",
    "unreadable": "文件无法读取({detail}),请核实后重新报送",
}

# The extensions each detected type may carry. A file without an extension is judged by
# its content alone; any other extension must name the family the content belongs to
# (Word 97 and 2007 files are opened by the same programs, so are JPG and PNG).
_EXTENSIONS: dict[str, frozenset[str]] = {
    "pdf": frozenset({".pdf"}),
    "ofd": frozenset({".ofd"}),
    "doc": frozenset({".doc", ".docx", ".wps", ".dot"}),
    "docx": frozenset({".docx", ".doc", ".wps", ".dotx"}),
    "xls": frozenset({".xls", ".xlsx", ".et"}),
    "xlsx": frozenset({".xlsx", ".xls", ".et"}),
    "jpg": frozenset({".jpg", ".jpeg", ".jpe", ".jfif", ".png"}),
    "png": frozenset({".png", ".jpg", ".jpeg"}),
    "zip": frozenset({".zip"}),
}


def reason_message(reason_code: str, /, **fields: object) -> str:
    """The Chinese message for a reason code, with its placeholders filled in."""
    # Positional-only, so that a placeholder may itself be called "code".
    return REASONS[reason_code].format(**fields)


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
        return too_large(declared_size, max_bytes)

    digest = hashlib.sha256()
    size = 0
    head = bytearray()
    with opener() as f:
        while chunk := f.read(CHUNK_SIZE):
            size += len(chunk)
            if size > max_bytes:
                return too_large(max(size, declared_size or 0), max_bytes)
            digest.update(chunk)
            if len(head) < HEAD_SIZE:
                head += chunk[: HEAD_SIZE - len(head)]
    sha256 = digest.hexdigest()
    if size == 0:
        return _rejected("empty", size=0, sha256=sha256)

    sniffed = examine(bytes(head), opener)
    detected = sniffed.detected
    if detected is None or detected not in allowed_types:
        return _rejected(
            "bad_type",
            size=size,
            sha256=sha256,
            detected_type=detected,
            allowed=allowed_label(allowed_types),
            detected=_detected_label(detected),
        )
    ext = extension_of(name)
    if ext and ext not in _EXTENSIONS.get(detected, frozenset()):
        return _rejected(
            "type_mismatch",
            size=size,
            sha256=sha256,
            detected_type=detected,
            ext=_printable_ext(ext),
            detected=_detected_label(detected),
        )
    if sniffed.refused is not None:
        code, detail = sniffed.refused
        return _rejected(code, size=size, sha256=sha256, detected_type=detected, detail=detail)
    return FileVerdict(True, None, None, detected, size, sha256)


def extension_of(name: str) -> str:
    """The lower-cased extension of the last path segment ("" when it has none)."""
    last = name.rsplit("/", 1)[-1]
    stem, dot, suffix = last.rpartition(".")
    return f".{suffix.lower()}" if dot and stem else ""


def _printable_ext(ext: str) -> str:
    return ext if len(ext) <= 17 else ext[:16] + "…"


def _rejected(
    code: str,
    *,
    size: int,
    detected_type: str | None = None,
    sha256: str | None = None,
    **fields: object,
) -> FileVerdict:
    return FileVerdict(False, code, reason_message(code, **fields), detected_type, size, sha256)


def too_large(actual: int, limit: int) -> FileVerdict:
    limit_text, actual_text = format_size(limit), format_size(actual)
    # Rounding can show "上限 20 MB,实际至少 20 MB"; exact bytes avoid the contradiction.
    if limit_text == actual_text:
        limit_text, actual_text = f"{limit} 字节", f"{actual} 字节"
    return _rejected("too_large", size=actual, limit=limit_text, actual=actual_text)


def format_size(n: int) -> str:
    if n >= 1024 * 1024:
        unit, scale = "MB", 1024 * 1024
    elif n >= 1024:
        unit, scale = "KB", 1024
    else:
        return f"{n} 字节"
    # Truncate rather than round: the figure is read as "at least".
    whole, tenths = divmod(n * 10 // scale, 10)
    return f"{whole} {unit}" if tenths == 0 else f"{whole}.{tenths} {unit}"


def allowed_label(allowed_types: Collection[str]) -> str:
    labels = dict.fromkeys(_TYPE_LABELS.get(t, t.upper()) for t in allowed_types)
    return "、".join(labels)


def _detected_label(detected: str | None) -> str:
    if detected is None:
        return "未知"
    group = _TYPE_LABELS.get(detected, detected.upper())
    return group if group == detected.upper() else f"{group}({detected.upper()})"

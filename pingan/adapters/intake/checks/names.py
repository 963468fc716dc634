"""Whether a sender's file name is a safe relative path, on POSIX and on Windows alike."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass


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

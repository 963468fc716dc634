"""What a ZIP-based file (a plain archive, .docx, .xlsx, .ofd) holds, judged from its central
directory alone: nothing is extracted or decompressed.

The directory is sized from its end record before Python's zipfile parses it, so an archive
claiming millions of entries costs a few bytes of reading, not a ZipInfo per entry. Sizes
declared in the directory are binding: zipfile never yields more than a member declares.
"""

from __future__ import annotations

import re
import struct
import unicodedata
import zipfile
from dataclasses import dataclass
from typing import IO, Final

_EOCD: Final = b"PK\x05\x06"
_EOCD_SIZE: Final = 22
_ZIP64_LOCATOR: Final = b"PK\x06\x07"
_ZIP64_LOCATOR_SIZE: Final = 20
_ZIP64_EOCD: Final = b"PK\x06\x06"
# The end record sits within its own size plus the longest comment from the end.
_TAIL: Final = _EOCD_SIZE + 0xFFFF

# Programs and scripts a coordinator must never be handed inside an archive.
EXECUTABLE_SUFFIXES: Final = frozenset(
    [
        ".exe",
        ".dll",
        ".com",
        ".scr",
        ".pif",
        ".cpl",
        ".msi",
        ".msp",
        ".bat",
        ".cmd",
        ".ps1",
        ".psm1",
        ".vbs",
        ".vbe",
        ".js",
        ".jse",
        ".wsf",
        ".wsh",
        ".hta",
        ".jar",
        ".lnk",
        ".reg",
        ".sh",
        ".apk",
        ".app",
        ".elf",
        ".so",
        ".dylib",
        ".docm",
        ".xlsm",
        ".pptm",
        ".dotm",
        ".xltm",
    ]
)
_DRIVE = re.compile(r"[A-Za-z]:")


@dataclass(frozen=True)
class ArchiveLimits:
    """Bounds on what a ZIP-based file may hold.

    A member larger than ratio_floor that decompresses more than max_ratio times its
    stored size is a bomb: office XML compresses 5-30 times, deflate at most about 1,000.
    """

    max_entries: int = 10_000
    max_directory_bytes: int = 4 * 1024 * 1024
    max_total_bytes: int = 1024 * 1024 * 1024
    max_ratio: int = 100
    ratio_floor: int = 1024 * 1024


DEFAULT_LIMITS: Final = ArchiveLimits()


class ArchiveRefused(Exception):
    """args[0] is the reason code (unsafe_archive, macro_document), args[1] the detail."""

    @property
    def code(self) -> str:
        return str(self.args[0])

    @property
    def detail(self) -> str:
        return str(self.args[1])


def check_directory_size(f: IO[bytes], limits: ArchiveLimits = DEFAULT_LIMITS) -> None:
    """Refuse an archive whose central directory is too large before anything parses it.

    Raises ArchiveRefused; a file without a readable end record passes (zipfile will then
    call it damaged)."""
    f.seek(0, 2)
    size = f.tell()
    start = max(0, size - _TAIL)
    f.seek(start)
    tail = f.read(size - start)
    at = tail.rfind(_EOCD)
    if at < 0 or len(tail) - at < _EOCD_SIZE:
        return
    entries, directory = struct.unpack_from("<HI", tail, at + 10)
    if entries == 0xFFFF or directory == 0xFFFFFFFF:
        entries, directory = _zip64_counts(f, tail, at, start)
    if entries > limits.max_entries:
        raise ArchiveRefused(
            "unsafe_archive", f"条目过多（{entries} 个，上限 {limits.max_entries} 个）"
        )
    if directory > limits.max_directory_bytes:
        raise ArchiveRefused("unsafe_archive", "目录区过大，疑为压缩炸弹")


def _zip64_counts(f: IO[bytes], tail: bytes, at: int, start: int) -> tuple[int, int]:
    locator = at - _ZIP64_LOCATOR_SIZE
    if locator < 0 or tail[locator : locator + 4] != _ZIP64_LOCATOR:
        return 0xFFFF, 0xFFFFFFFF  # claims ZIP64 without the record: judged as claimed
    (offset,) = struct.unpack_from("<Q", tail, locator + 8)
    f.seek(offset)
    record = f.read(56)
    if len(record) < 56 or record[:4] != _ZIP64_EOCD:
        return 0xFFFF, 0xFFFFFFFF
    entries, directory = struct.unpack_from("<QQ", record, 32)
    return int(entries), int(directory)


def check_members(
    zf: zipfile.ZipFile, detected: str, limits: ArchiveLimits = DEFAULT_LIMITS
) -> None:
    """Refuse (ArchiveRefused) a bomb, an escaping name, a program inside a plain archive or
    a macro inside a Word or Excel document; detected is what sniffing called the file."""
    infos = zf.infolist()
    if len(infos) > limits.max_entries:
        raise ArchiveRefused("unsafe_archive", f"条目过多（上限 {limits.max_entries} 个）")
    total = 0
    for info in infos:
        total += info.file_size
        if total > limits.max_total_bytes:
            raise ArchiveRefused(
                "unsafe_archive",
                f"解压后总大小超过 {limits.max_total_bytes // 1024 // 1024} MB，疑为压缩炸弹",
            )
        if info.file_size > limits.ratio_floor and info.file_size > limits.max_ratio * max(
            info.compress_size, 1
        ):
            raise ArchiveRefused(
                "unsafe_archive", f"压缩比异常（超过 {limits.max_ratio}:1），疑为压缩炸弹"
            )
        _check_name(info.filename, detected)


def _check_name(name: str, detected: str) -> None:
    shown = _shown(name)
    if _escapes(name):
        raise ArchiveRefused("unsafe_archive", f"含有指向包外的路径 {shown}")
    lowered = name.lower().rstrip("/")
    basename = lowered.rsplit("/", 1)[-1]
    if detected in ("docx", "xlsx") and basename == "vbaproject.bin":
        raise ArchiveRefused("macro_document", f"内含宏代码 {shown}")
    suffix = basename[basename.rfind(".") :] if "." in basename else ""
    if detected == "zip" and suffix in EXECUTABLE_SUFFIXES:
        raise ArchiveRefused("unsafe_archive", f"内含可执行程序或脚本 {shown}")


def _escapes(name: str) -> bool:
    """Absolute, drive-lettered, backslashed, ".."-climbing or control-laden: on extraction
    such a name can land outside the folder (zip slip) or show as something else."""
    if name.startswith(("/", "\\")) or _DRIVE.match(name) or "\\" in name:
        return True
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Cs") for ch in name):
        return True
    return ".." in name.split("/")


def _shown(name: str) -> str:
    cleaned = "".join(
        ch if unicodedata.category(ch) not in ("Cc", "Cf", "Cs") else "?" for ch in name
    )
    return "“" + (cleaned if len(cleaned) <= 60 else cleaned[:60] + "…") + "”"

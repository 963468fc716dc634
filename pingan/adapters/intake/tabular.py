"""What every spreadsheet-like input (rosters, score sheets) checks before reading rows,
and the bounds it is read within: at most MAX_FILE_BYTES + 1 bytes whatever the file claims,
MAX_RECORD_CHARS per CSV record, MAX_COLUMNS per row, and for a workbook a central
directory that is no bomb."""

from __future__ import annotations

import codecs
import csv
import io
import os
import stat
import zipfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, Any, Final

from pingan.adapters.intake.checks.archive import (
    ArchiveLimits,
    ArchiveRefused,
    check_directory_size,
    check_members,
)

_CHUNK = 1 << 20
MAX_FILE_BYTES: Final = 200 * 1024 * 1024
# A roster has about a dozen columns, a score sheet one per criterion: hundreds are a mistake
# (or an attack: a 4 MB line of commas is two million columns).
MAX_COLUMNS: Final = 256
# One CSV record, however many physical lines its quoted cells span.
MAX_RECORD_CHARS: Final = 256 * 1024
# What a workbook may unpack to: a million-row roster is well under 1 GB of sheet XML.
WORKBOOK_LIMITS: Final = ArchiveLimits(max_entries=2_000, max_total_bytes=1024 * 1024 * 1024)


class Refused(Exception):
    """The file is over a bound; args[0] is the Chinese reason, args[1] where (or "")."""

    def __init__(self, message: str, where: str = "") -> None:
        super().__init__(message, where)
        self.message = message
        self.where = where


class _CappedRaw(io.RawIOBase):
    """A file that refuses to yield more than cap bytes: /dev/zero, a pipe or a file still
    growing cost cap + 1 bytes of reading at most."""

    def __init__(self, path: Path, cap: int) -> None:
        super().__init__()
        self._fd = os.open(path, os.O_RDONLY)
        self._cap = cap
        self._got = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        return os.lseek(self._fd, offset, whence)

    def tell(self) -> int:
        return os.lseek(self._fd, 0, os.SEEK_CUR)

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        want = min(len(view), self._cap + 1 - self._got)
        data = os.read(self._fd, max(want, 0))
        view[: len(data)] = data
        self._got += len(data)
        if self._got > self._cap:
            raise Refused(f"文件过大（超过 {self._cap // 1024 // 1024} MB）")
        return len(data)

    def close(self) -> None:
        if not self.closed:
            os.close(self._fd)
        super().close()


def open_capped(path: Path, cap: int = MAX_FILE_BYTES) -> IO[bytes]:
    """path for buffered binary reading, raising Refused past cap bytes."""
    return io.BufferedReader(_CappedRaw(path, cap), _CHUNK)


class _Lines:
    """Physical lines for csv.reader, none read past what one record may hold."""

    def __init__(self, fh: IO[str]) -> None:
        self.fh = fh
        self.record_chars = 0
        self.line = 0

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        line = self.fh.readline(MAX_RECORD_CHARS + 1)
        if not line:
            raise StopIteration
        self.line += 1
        self.record_chars += len(line)
        if self.record_chars > MAX_RECORD_CHARS:
            raise Refused(
                f"内容过长（一行超过 {MAX_RECORD_CHARS // 1024} K 个字符），不是有效的表格文件",
                f"第 {self.line} 行",
            )
        return line


class CsvRows:
    """csv.reader over a text file, each record bounded in length and in columns.

    An iterator object rather than a generator, so that reading can go on after a
    csv.Error (a generator is finished by the first exception it raises)."""

    def __init__(self, fh: IO[str], delimiter: str = ",") -> None:
        self._lines = _Lines(fh)
        self._reader = csv.reader(self._lines, delimiter=delimiter)

    def __iter__(self) -> CsvRows:
        return self

    def __next__(self) -> list[str]:
        self._lines.record_chars = 0
        row = next(self._reader)
        if len(row) > MAX_COLUMNS:
            raise Refused(
                f"列数过多（{len(row)} 列，上限 {MAX_COLUMNS} 列），不是有效的表格文件",
                f"第 {self._reader.line_num} 行",
            )
        return row


def open_csv(path: Path, encoding: str, cap: int = MAX_FILE_BYTES) -> IO[str]:
    return io.TextIOWrapper(open_capped(path, cap), encoding=encoding, newline="")


def workbook_problem(path: Path) -> str | None:
    """Why a workbook must not be opened (a bomb or escaping names in its ZIP directory),
    judged from the directory alone; None when it may be (or is no ZIP at all, which the
    workbook reader then reports as damaged)."""
    try:
        with open_capped(path) as f:
            check_directory_size(f, WORKBOOK_LIMITS)
            with zipfile.ZipFile(f) as zf:
                check_members(zf, "workbook", WORKBOOK_LIMITS)
    except ArchiveRefused as refused:
        return f"Excel 文件结构异常，不予读取：{refused.detail}"
    except (zipfile.BadZipFile, EOFError, ValueError, NotImplementedError, Refused):
        return None
    return None


def detect_encoding(path: Path) -> str | None:
    """UTF-8 (with or without BOM), UTF-16 with a BOM (Excel's "Unicode 文本"), else
    GB18030 (a superset of GBK); None if none decodes.

    Hand-typed CSVs from Excel or WPS on Chinese Windows are GBK; the whole file is tried
    because a stray GBK character may sit anywhere.
    """
    with open_capped(path) as fh:
        head = fh.read(3)
        if head[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
            candidates = ["utf-16"]
        elif head == codecs.BOM_UTF8:
            candidates = ["utf-8-sig"]
        else:
            candidates = ["utf-8", "gb18030"]
        for encoding in candidates:
            fh.seek(0)
            decoder = codecs.getincrementaldecoder(encoding)()
            try:
                while chunk := fh.read(_CHUNK):
                    decoder.decode(chunk)
                decoder.decode(b"", final=True)
            except UnicodeDecodeError:
                continue
            return encoding
    return None


def delimiter(path: Path, encoding: str) -> str:
    """Tab for Excel's text exports (its "Unicode 文本" is tab-separated UTF-16), else
    comma: the first line decides, by which of the two it holds more of."""
    with open_csv(path, encoding) as fh:
        first = fh.readline(MAX_RECORD_CHARS)
    return "\t" if first.count("\t") > first.count(",") else ","


TEXT_SUFFIXES: Final = (".csv", ".txt", ".tsv")
TABLE_SUFFIXES: Final = (*TEXT_SUFFIXES, ".xlsx", ".xls", ".ods")


def preflight(path: Path, label: str, quoted_suffix: str) -> str | None:
    """The one problem that stops a file before any row is read (wrong type, missing,
    unreadable, too large, empty), in Chinese; None when the rows can be read.

    ``label`` names the file for the operator (名册, 评分表); ``quoted_suffix`` is the
    suffix already quoted the way the caller quotes values.
    """
    suffix = path.suffix.lower()
    if suffix not in TABLE_SUFFIXES:
        return (
            f"不支持的文件类型 {quoted_suffix}，{label}须为 Excel（.xlsx、.xls）、"
            "ODS（.ods）或文本（.csv、.txt）文件"
        )
    try:
        info = path.stat()
    except FileNotFoundError:
        return "文件不存在"
    except OSError as exc:
        return f"无法读取文件：{exc.strerror or exc}"
    if not stat.S_ISREG(info.st_mode):
        return f"不是普通文件（而是目录、设备或管道），无法作为{label}读取"
    size = info.st_size
    if size > MAX_FILE_BYTES:
        return f"文件过大（{size / 1024 / 1024:.0f} MB），{label}文件上限为 200 MB"
    if size == 0:
        return "文件为空（0 字节）"
    return None


class Unreadable(Exception):
    """A workbook reader failed part-way through a sheet."""


def guarded_rows(rows: Iterator[Sequence[Any]]) -> Iterator[Sequence[Any]]:
    """A workbook reader's rows, with anything it raises while reading one turned into
    Unreadable: openpyxl lets zipfile, XML, KeyError and ValueError through unwrapped, and
    to the operator they all mean the same thing (the file is damaged)."""
    while True:
        try:
            values = next(rows)
        except StopIteration:
            return
        except Exception as exc:
            raise Unreadable from exc
        yield values

"""Workbooks as clerks save them — .xlsx, .xls (Excel 97–2003) and .ods (WPS, LibreOffice)
— read through python-calamine, within the bounds of tabular.py and extent.py.

calamine reads a sheet an order of magnitude faster than openpyxl (bench/sheets.py), but
lays it out whole in memory; a sheet whose extent cannot be bounded cheaply, or that spans
more cells than its size justifies, is read by openpyxl's streaming reader if it is an
.xlsx, and refused otherwise. Either way a sheet's rows come out the same: lists of cell
values with "" or None for a blank, each cut to the width the caller asks for, and row
numbers and column letters as in Excel.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Protocol

import olefile
import openpyxl
import python_calamine

from pingan.adapters.intake.extent import Extent, allowed, ods_extents, xls_extents, xlsx_extents
from pingan.adapters.intake.tabular import (
    Refused,
    Unreadable,
    guarded_rows,
    open_capped,
    workbook_problem,
)

WORKBOOK_SUFFIXES: Final = (".xlsx", ".xls", ".ods")
_NAMES: Final = {".xlsx": "Excel", ".xls": "Excel 97-2003", ".ods": "ODS"}


class BookRefused(Exception):
    """The workbook cannot be read at all; args[0] is the Chinese reason."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Book(Protocol):
    titles: list[str]

    def rows(self, index: int, width: int) -> Iterator[Sequence[Any]]:
        """The sheet's rows from row 1, each cut to width; Unreadable if it is damaged."""
        ...


@contextlib.contextmanager
def open_book(path: Path) -> Iterator[Book]:
    """The workbook at path, for a caller that has run tabular.preflight on it."""
    named = path.suffix.lower()
    suffix = _sniffed(path, named)
    kind = _NAMES[named]
    fits = _fits(path, suffix)
    if not fits and suffix != ".xlsx":
        raise BookRefused(
            f"{kind} 文件的表格范围过大（行列远多于其内容），不予读取；请删除多余的行和列后重新保存"
        )
    book: _Calamine | _Openpyxl
    try:
        book = _Calamine(path, by_content=suffix != named) if fits else _Openpyxl(path)
    except python_calamine.PasswordError:
        raise BookRefused(f"{kind} 文件设有打开密码，请取消密码后重新保存") from None
    # Either reader lets zip, XML and its own errors through, and calamine panics on some
    # damaged files; to the operator they all mean the same thing.
    except BaseException as exc:
        if not _damage(exc):
            raise
        raise BookRefused(_damaged(kind, named)) from None
    try:
        yield book
    finally:
        book.close()


_ZIP: Final = b"PK\x03\x04"
_OLE: Final = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def _sniffed(path: Path, named: str) -> str:
    """The format the file's first bytes show, where they contradict its name: systems and
    clerks often save an .xlsx under .xls or the other way round."""
    try:
        with open_capped(path) as f:
            head = f.read(8)
    except (OSError, Refused):
        return named
    if head.startswith(_ZIP) and named == ".xls":
        return ".xlsx"
    if head == _OLE and named in (".xlsx", ".ods"):
        return ".xls"
    return named


def _damage(exc: BaseException) -> bool:
    """Whether a reader's exception means a damaged file: any error, or a panic of
    calamine's Rust code (pyo3's PanicException is a BaseException)."""
    return isinstance(exc, Exception) or type(exc).__name__ == "PanicException"


def _damaged(kind: str, named: str) -> str:
    return f"无法打开 {kind} 文件：文件已损坏或不是 {named} 格式"


def _fits(path: Path, suffix: str) -> bool:
    """Whether every sheet spans few enough cells for calamine to lay it out."""
    if suffix in (".xlsx", ".ods"):
        problem = workbook_problem(path)
        if problem is not None:
            raise BookRefused(problem)
    extents: list[Extent | None]
    try:
        with open_capped(path) as f:
            if suffix == ".xlsx":
                extents = xlsx_extents(f)
            elif suffix == ".ods":
                extents = ods_extents(f)
            else:
                extents = xls_extents(_xls_stream(f, path))
    except BookRefused:
        raise
    # A damaged file: an .xls or .ods that cannot be bounded is not given to calamine;
    # openpyxl says an .xlsx is damaged in the operator's words.
    except Exception:
        if suffix == ".xlsx":
            return False
        raise BookRefused(_damaged(_NAMES[suffix], path.suffix.lower())) from None
    return allowed(extents)


def _xls_stream(f: Any, path: Path) -> bytes:
    """The Workbook stream of an .xls, read by olefile, which checks every sector chain:
    a compound file it cannot read is refused here rather than given to calamine, whose
    parser panics on some damaged ones."""
    damaged = BookRefused(_damaged(_NAMES[".xls"], path.suffix.lower()))
    try:
        ole = olefile.OleFileIO(f)
    except Exception:
        raise damaged from None
    try:
        for name in ("Workbook", "Book"):
            if ole.exists(name):
                data: bytes = ole.openstream(name).read()
                return data
    except Exception:
        pass
    finally:
        ole.close()
    raise damaged


@dataclass
class _Calamine:
    path: Path
    by_content: bool  # the name says another format: calamine then goes by the bytes

    def __post_init__(self) -> None:
        if self.by_content:
            with self.path.open("rb") as f:
                self.book = python_calamine.CalamineWorkbook.from_filelike(f)
        else:
            self.book = python_calamine.CalamineWorkbook.from_path(str(self.path))
        self.titles = [str(t) for t in self.book.sheet_names]

    def rows(self, index: int, width: int) -> Iterator[Sequence[Any]]:
        try:
            sheet = self.book.get_sheet_by_index(index)
        except BaseException as exc:
            if not _damage(exc):
                raise
            raise Unreadable from None
        return guarded_rows(_placed(sheet, width))

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.book.close()


def _placed(sheet: Any, width: int) -> Iterator[Sequence[Any]]:
    """calamine's rows start at row 1 but at the sheet's first used column: the blank
    columns before it are put back, so that column letters match Excel's."""
    start = sheet.start
    pad = [""] * (start[1] if start else 0)
    if not pad:
        for row in sheet.iter_rows():
            yield row[:width]
        return
    for row in sheet.iter_rows():
        yield (pad + row)[:width]


@dataclass
class _Openpyxl:
    path: Path

    def __post_init__(self) -> None:
        # A file object, not the path: openpyxl refuses a path by its extension, and an
        # .xlsx saved as .xls is still an .xlsx.
        self.fh = self.path.open("rb")
        try:
            self.book = openpyxl.load_workbook(self.fh, read_only=True, data_only=True)
        except BaseException:
            self.fh.close()
            raise
        self.titles = [str(ws.title) for ws in self.book.worksheets]

    def rows(self, index: int, width: int) -> Iterator[Sequence[Any]]:
        sheet = self.book.worksheets[index]
        # Declared dimensions may be wrong (some writers always say A1), and a cell at
        # column XFD would pad every row to 16,384 values: both are ignored.
        sheet.reset_dimensions()
        return guarded_rows(sheet.iter_rows(max_col=width, values_only=True))

    def close(self) -> None:
        self.book.close()
        self.fh.close()

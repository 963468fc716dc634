"""How many cells a workbook's sheets span, bounded from above before python-calamine opens
them.

calamine lays each sheet out as a dense table of 32-byte cells from A1 to its farthest
cell, so a 5 KB .xlsx holding A1 and XFD1048576 asks for half a terabyte and aborts the
process (Rust's out-of-memory handler cannot be caught). Each format is therefore scanned
first, at C speed where it can be: the .xlsx sheet XML by byte searches, the .xls record
stream by its fixed-size cell records, the .ods content by its repeat counts. A sheet may
span at most ``allowed(size)`` cells, in proportion to the bytes that describe it.

Each scan returns an upper bound of (rows, columns), or None when the file is laid out in a
way the scan cannot bound cheaply (the caller then reads the .xlsx with openpyxl, which
streams, or refuses an .xls or .ods as too large).
"""

from __future__ import annotations

import re
import struct
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Iterator
from pathlib import PurePosixPath
from typing import IO, Final, NamedTuple

# 24 M cells are about 770 MB laid out: a 1,048,576-row roster of 12 columns, bounded as
# below, still fits; the size rule keeps a small file far below it.
MAX_CELLS: Final = 24_000_000
# Whatever its size, a sheet may span a million cells (32 MB).
MIN_CELLS: Final = 1_000_000
# A real sheet takes far more than 4 bytes of XML or records per cell it spans (a roster
# row of 12 columns is about 650 bytes of XML); a bomb takes a few bytes for millions.
_BYTES_PER_CELL: Final = 4
_CHUNK: Final = 4 << 20


class Extent(NamedTuple):
    rows: int
    columns: int
    size: int  # bytes of XML or records the bound was read from

    @property
    def cells(self) -> int:
        return self.rows * self.columns

    def allowed(self) -> bool:
        return self.cells <= min(MAX_CELLS, max(MIN_CELLS, self.size // _BYTES_PER_CELL))


def allowed(extents: list[Extent | None]) -> bool:
    return all(e is not None and e.allowed() for e in extents)


# --- .xlsx -------------------------------------------------------------------------------

_NS_REL: Final = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_NS_PKG_REL: Final = "http://schemas.openxmlformats.org/package/2006/relationships"
_ROW_R: Final = re.compile(rb'<row r="([0-9]{1,10})"')


def _letters(column: bytes) -> int:
    n = 0
    for ch in column:
        n = n * 26 + ch - 64
    return n


def _sheet_parts(zf: zipfile.ZipFile) -> list[str]:
    """The members the workbook names as its worksheets, as calamine resolves them."""
    rels = ET.fromstring(zf.read("xl/_rels/workbook.xml.rels"))
    targets = {
        r.get("Id"): r.get("Target", "") for r in rels.iter(f"{{{_NS_PKG_REL}}}Relationship")
    }
    book = ET.fromstring(zf.read("xl/workbook.xml"))
    parts = []
    for sheet in book.iter():
        if sheet.tag.rsplit("}", 1)[-1] != "sheet":
            continue
        target = targets.get(sheet.get(f"{{{_NS_REL}}}id"), "")
        name = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
        parts.append(str(PurePosixPath(name)))
    return parts


def _tagged_chunks(f: IO[bytes]) -> Iterator[bytes]:
    """The stream cut after a '>', so that no tag the scan looks for is split in two."""
    rest = b""
    while chunk := f.read(_CHUNK):
        data = rest + chunk
        cut = data.rfind(b">") + 1
        if cut == 0:
            rest = data
            if len(rest) > 4 * _CHUNK:  # a tag megabytes long: nothing a sheet has
                raise ValueError("tag too long")
            continue
        rest = data[cut:]
        yield data[:cut]
    if rest:
        yield rest


def _bucket(row: int) -> int:
    """The round number above row: 202,001 → 300,000; a bound at most twice the row."""
    digits = len(str(row))
    lead = int(str(row)[0]) + 1
    return int(f"{lead}{'0' * (digits - 1)}")


def _misplaced(bound: int) -> re.Pattern[bytes]:
    """A row or cell placed at or past bound (a digit followed by zeros, 1 to 10); placed
    by its order rather than by a reference as its first attribute after one space; or
    written in a way the byte searches would not see (a namespace prefix, a tab or line
    break before its attributes), all of which calamine reads alike."""
    text = str(bound)
    digits, lead = len(text), text[0]
    number = f"[0-9]{{{digits + 1},}}|[{lead}-9][0-9]{{{digits - 1}}}"
    return re.compile(
        rf'<(?:row|c)(?:>|/>|[\t\r\n]| (?!r=")| r="(?![A-Z]{{0,3}}[0-9]{{1,10}}")'
        rf'| r="[A-Z]{{0,3}}(?:{number})")'.encode()
    )


# A row or cell with a namespace prefix (<x:c …>), which calamine reads as <c …>.
_PREFIXED: Final = re.compile(rb":(?:row|c)[\s/>]")


def _column_name(n: int) -> str:
    name = ""
    while n:
        n, rest = divmod(n - 1, 26)
        name = chr(65 + rest) + name
    return name


def _past_column(n: int) -> re.Pattern[bytes]:
    """References to a column past the n-th (0: any column)."""
    name = _column_name(n)
    k = len(name)
    alternatives = [f"[A-Z]{{{k + 1},3}}"] if k < 3 else []
    for i, ch in enumerate(name):
        if ch < "Z":
            alternatives.append(f"{name[:i]}[{chr(ord(ch) + 1)}-Z][A-Z]{{{k - i - 1}}}")
    if not alternatives:
        alternatives = ["(?!)"]
    return re.compile(rf'<c r="({"|".join(alternatives)})[0-9]'.encode())


def _xlsx_part(f: IO[bytes]) -> Extent | None:
    last = 0  # the last row number seen: rows come in order, so also the largest so far
    columns = size = 0
    data_seen = False
    for chunk in _tagged_chunks(f):
        size += len(chunk)
        data_seen = data_seen or b"<sheetData" in chunk
        at = chunk.rfind(b'<row r="')
        if at >= 0 and (found := _ROW_R.match(chunk, at)):
            last = max(last, int(found[1]))
        if _misplaced(_bucket(max(last, 1))).search(chunk) or _PREFIXED.search(chunk):
            return None  # out of order, a far-off cell, or cells placed by their order
        while found_column := _past_column(columns).search(chunk):
            columns = _letters(found_column[1])
    if not data_seen and size:
        return None  # a prefixed namespace (<x:row>): the byte searches would find nothing
    return Extent(_bucket(last) if last else 0, columns, size)


def xlsx_extents(f: IO[bytes]) -> list[Extent | None]:
    """Every worksheet's extent; f is the (size-checked) .xlsx file."""
    with zipfile.ZipFile(f) as zf:
        extents: list[Extent | None] = []
        for part in _sheet_parts(zf):
            try:
                member = zf.open(part)
            except KeyError:
                continue  # calamine reports the missing sheet itself
            with member:
                try:
                    extents.append(_xlsx_part(member))
                except ValueError:
                    extents.append(None)
        return extents


# --- .xls --------------------------------------------------------------------------------

# BIFF records that hold one cell, with its row and column in their first four bytes.
_CELL_RECORDS: Final = frozenset({0x0006, 0x00D6, 0x00FD, 0x0201, 0x0203, 0x0204, 0x0205, 0x027E})
_MULTI_RECORDS: Final = frozenset({0x00BD, 0x00BE})  # MULRK, MULBLANK: a run of one row
_BOF: Final = 0x0809
# The sheet's used range as the file states it, which calamine lays out as it stands.
_DIMENSIONS: Final = 0x0200
_HEADER = struct.Struct("<HH")


def _dimensions(stream: bytes, body: int, length: int) -> tuple[int, int] | None:
    """(rows, columns) a DIMENSIONS record claims; None if it claims a range backwards."""
    if length >= 14:  # BIFF8: 32-bit rows
        first, last = struct.unpack_from("<II", stream, body)
        left, right = struct.unpack_from("<HH", stream, body + 8)
    elif length >= 8:  # BIFF5 and before: 16-bit rows
        first, last, left, right = struct.unpack_from("<HHHH", stream, body)
    else:
        return (0, 0)
    if first > last or left > right:
        return None
    return last, right


def xls_extents(stream: bytes) -> list[Extent | None]:
    """Every sheet's extent, from the BIFF records of the Workbook stream: its cells and
    the used range it states."""
    extents: list[Extent | None] = []
    rows = columns = 0
    start = 0
    pos, end = 0, len(stream)
    unpack = _HEADER.unpack_from
    while pos + 4 <= end:
        kind, length = unpack(stream, pos)
        body = pos + 4
        if body + length > end:
            break  # a record cut short: calamine reads no further either
        if kind in _CELL_RECORDS and length >= 4:
            row, col = unpack(stream, body)
            rows, columns = max(rows, row + 1), max(columns, col + 1)
        elif kind in _MULTI_RECORDS and length >= 6:
            row, _ = unpack(stream, body)
            (last,) = struct.unpack_from("<H", stream, body + length - 2)
            rows, columns = max(rows, row + 1), max(columns, last + 1)
        elif kind == _DIMENSIONS:
            claimed = _dimensions(stream, body, length)
            if claimed is None:
                return [None]
            rows, columns = max(rows, claimed[0]), max(columns, claimed[1])
        elif kind == _BOF:
            if rows or columns:
                extents.append(Extent(rows, columns, pos - start))
            rows = columns = 0
            start = pos
        pos = body + length
    extents.append(Extent(rows, columns, end - start))
    return extents


# --- .ods --------------------------------------------------------------------------------

_T = "{urn:oasis:names:tc:opendocument:xmlns:table:1.0}"
_O = "{urn:oasis:names:tc:opendocument:xmlns:office:1.0}"
_CELLS: Final = (f"{_T}table-cell", f"{_T}covered-table-cell")


def _repeats(element: ET.Element, name: str) -> int:
    try:
        return max(1, int(element.get(f"{_T}{name}", "1")))
    except ValueError:
        return 1


def ods_extents(f: IO[bytes]) -> list[Extent | None]:
    """Every table's extent, counting the rows and cells that repeat with content."""
    with zipfile.ZipFile(f) as zf:
        size = zf.getinfo("content.xml").file_size
        extents: list[Extent | None] = []
        row = rows = col = columns = 0
        filled = False
        with zf.open("content.xml") as content:
            for event, element in ET.iterparse(content, events=("start", "end")):
                tag = element.tag
                if event == "start":
                    if tag == f"{_T}table":
                        row = rows = columns = 0
                    elif tag == f"{_T}table-row":
                        col, filled = 0, False
                    continue
                if tag in _CELLS:
                    col += _repeats(element, "number-columns-repeated")
                    if element.get(f"{_O}value-type") is not None or len(element):
                        columns, filled = max(columns, col), True
                elif tag == f"{_T}table-row":
                    row += _repeats(element, "number-rows-repeated")
                    if filled:
                        rows = row
                    element.clear()
                elif tag == f"{_T}table":
                    extents.append(Extent(rows, columns, size))
                    element.clear()
        return extents

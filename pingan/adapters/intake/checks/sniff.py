"""A file's type told from its content: magic numbers, then the directory of a ZIP or an
OLE container to tell Word, Excel and OFD from a plain archive."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from typing import BinaryIO

from pingan.adapters.intake.checks.cfb import ReadAt, root_stream_names

ALLOWED_TYPES = ("pdf", "ofd", "doc", "docx", "xls", "xlsx", "jpg", "png", "zip")

# Enough for every magic number and, in small OLE files, the whole directory.
HEAD_SIZE = 64 * 1024

Opener = Callable[[], BinaryIO]

_PDF_MAGIC = b"%PDF-"
_JPG_MAGIC = b"\xff\xd8\xff"
_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")


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


def _sniff_ole(head: bytes, open_file: Opener | None) -> str | None:
    if open_file is not None:
        with open_file() as f:
            names = root_stream_names(_file_reader(f))
    else:
        names = root_stream_names(lambda off, n: head[off : off + n])
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


def _file_reader(f: BinaryIO) -> ReadAt:
    def read_at(offset: int, size: int) -> bytes:
        f.seek(offset)
        return f.read(size)

    return read_at

"""A file's type told from its content: magic numbers, then the directory of a ZIP or an
OLE container to tell Word, Excel and OFD from a plain archive."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from typing import BinaryIO

from pingan.adapters.intake.checks.archive import (
    ArchiveRefused,
    check_directory_size,
    check_members,
)
from pingan.adapters.intake.checks.ole import read_root

ALLOWED_TYPES = ("pdf", "ofd", "doc", "docx", "xls", "xlsx", "jpg", "png", "zip")

# Enough for every magic number and, in small OLE files, the whole directory.
HEAD_SIZE = 64 * 1024

Opener = Callable[[], BinaryIO]

_PDF_MAGIC = b"%PDF-"
_JPG_MAGIC = b"\xff\xd8\xff"
_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")
# ValueError: a member name flagged as UTF-8 that is not, i.e. a damaged archive.
# NotImplementedError: a directory entry asking for a newer ZIP version than Python reads
# (one flipped byte does it); such a file must be rejected, not stop intake.
_ZIP_ERRORS = (zipfile.BadZipFile, EOFError, ValueError, NotImplementedError, OSError)


@dataclass(frozen=True)
class Sniffed:
    """The type told from the content, and why a container of that type is refused
    (reason code, detail), if it is."""

    detected: str | None
    refused: tuple[str, str] | None = None


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
    simple = _magic_type(head)
    if simple is not None or not head.startswith((_OLE_MAGIC, *_ZIP_MAGICS)):
        return simple
    if head.startswith(_OLE_MAGIC):
        return _sniff_ole(head, open_file).detected
    try:
        with open_zip() if open_zip is not None else zipfile.ZipFile(io.BytesIO(head)) as zf:
            return _zip_kind(zf.namelist())
    except _ZIP_ERRORS:
        return None


def examine(head: bytes, opener: Opener) -> Sniffed:
    """The type of the whole file opener gives, and whether its container is refused:
    a ZIP whose directory is oversized, whose members are a bomb, escape the folder or
    include programs, a Word/Excel file with macros. Nothing is extracted."""
    simple = _magic_type(head)
    if simple is not None:
        return Sniffed(simple)
    if head.startswith(_OLE_MAGIC):
        return _sniff_ole(head, opener)
    if head.startswith(_ZIP_MAGICS):
        return _examine_zip(opener)
    return Sniffed(None)


def _magic_type(head: bytes) -> str | None:
    if head.startswith(_PDF_MAGIC):
        return "pdf"
    if head.startswith(_JPG_MAGIC):
        return "jpg"
    if head.startswith(_PNG_MAGIC):
        return "png"
    return None


def _examine_zip(opener: Opener) -> Sniffed:
    detected: str | None = "zip"
    try:
        with opener() as f:
            check_directory_size(f)
            with zipfile.ZipFile(f) as zf:
                detected = _zip_kind(zf.namelist())
                check_members(zf, detected)
    except ArchiveRefused as refused:
        return Sniffed(detected, (refused.code, refused.detail))
    except _ZIP_ERRORS:
        return Sniffed(None)
    return Sniffed(detected)


def _zip_kind(names: list[str]) -> str:
    if "[Content_Types].xml" in names:
        if any(n.startswith("word/") for n in names):
            return "docx"
        if any(n.startswith("xl/") for n in names):
            return "xlsx"
    if "OFD.xml" in names:
        return "ofd"
    return "zip"


def _sniff_ole(head: bytes, open_file: Opener | None) -> Sniffed:
    if open_file is not None:
        with open_file() as f:
            root = read_root(f)
    else:
        root = read_root(io.BytesIO(head))
    if root is None:
        # The directory is damaged or out of reach: fall back to spotting the stream
        # names anywhere in the head, Word first because a .doc may embed a workbook.
        if "WordDocument".encode("utf-16-le") in head:
            return Sniffed("doc")
        if "Workbook".encode("utf-16-le") in head or "Book\0".encode("utf-16-le") in head:
            return Sniffed("xls")
        return Sniffed(None)
    # Only top-level streams count: an embedded object keeps its own streams in a
    # sub-storage, so an Excel sheet pasted into Word must not make the .doc an .xls.
    if "WORDDOCUMENT" in root.streams:
        detected = "doc"
    elif "WORKBOOK" in root.streams or "BOOK" in root.streams:
        detected = "xls"
    else:
        return Sniffed(None)
    if root.macros:
        return Sniffed(detected, ("macro_document", "内含宏代码（VBA 工程）"))
    return Sniffed(detected)

"""What an OLE compound file (Word 97, Excel 97) holds at its root, read with olefile.

Word and Excel files are told apart by their top-level stream names; a VBA storage beside
them means the document carries macros. A crafted or damaged file gives None, never an
error: olefile checks every sector index and chain, and whatever it still raises on a
hostile file is caught here.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import BinaryIO

import olefile

# Where Word ("Macros") and Excel ("_VBA_PROJECT_CUR") keep a document's VBA project.
_MACRO_STORAGES = frozenset({"MACROS", "_VBA_PROJECT_CUR", "_VBA_PROJECT"})

# olefile reports each defect it tolerates on its own logger; to intake they are noise.
logging.getLogger("olefile").setLevel(logging.CRITICAL)


@dataclass(frozen=True)
class OleRoot:
    """Upper-cased names of the root's streams, and whether a VBA project is present."""

    streams: frozenset[str]
    macros: bool


def read_root(f: BinaryIO) -> OleRoot | None:
    """The root of the compound file f (positioned anywhere), or None if unreadable."""
    try:
        f.seek(0)
        ole = olefile.OleFileIO(f)
    # olefile raises OSError for what it recognises as broken, and struct, index, value or
    # recursion errors for some crafted sector chains and directory trees.
    except Exception:
        return None
    try:
        entries = ole.listdir(streams=True, storages=True)
        streams = {e[0].upper() for e in entries if len(e) == 1 and ole.get_type(e) == 2}
        macros = any(e[0].upper() in _MACRO_STORAGES for e in entries)
    except Exception:
        return None
    finally:
        ole.close()
    return OleRoot(frozenset(streams), macros)

"""The streams directly under the root of a Compound File Binary (MS-CFB) file.

Word 97 and Excel 97 files are such containers, told apart by their top-level stream
names. Every read is bounds-checked and every chain walk is capped, so a crafted file
yields None rather than an error or an endless loop.
"""

from __future__ import annotations

import struct
from collections.abc import Callable

ReadAt = Callable[[int, int], bytes]

_HEADER_SIZE = 512
_MAX_REG_SECT = 0xFFFFFFFA
_END_OF_CHAIN = 0xFFFFFFFE
_NO_STREAM = 0xFFFFFFFF
_DIR_ENTRY = 128
_OBJ_STREAM = 2
_OBJ_ROOT = 5
# Bounds the directory walk so a crafted file cannot keep us busy.
_MAX_ENTRIES = 65536


def root_stream_names(read_at: ReadAt) -> set[str] | None:
    """Upper-cased names of the streams directly under the root, or None if unreadable.

    read_at(offset, size) returns up to size bytes of the file from offset.
    """
    header = read_at(0, _HEADER_SIZE)
    if len(header) < _HEADER_SIZE:
        return None
    (shift,) = struct.unpack_from("<H", header, 30)
    if shift not in (9, 12):
        return None
    sectors = _Sectors(read_at, 1 << shift)
    fat_sids = _fat_sector_ids(header, sectors)
    if fat_sids is None:
        return None
    (first_dir,) = struct.unpack_from("<I", header, 48)
    dir_sids = _directory_sector_ids(first_dir, _Fat(sectors, fat_sids))
    if dir_sids is None:
        return None
    return _root_streams(_Directory(sectors, dir_sids))


class _Sectors:
    def __init__(self, read_at: ReadAt, size: int) -> None:
        self.read_at = read_at
        self.size = size
        self.per_sector = size // 4

    def read(self, sid: int) -> bytes | None:
        data = self.read_at((sid + 1) * self.size, self.size)
        return data if len(data) == self.size else None

    def ids(self, sid: int) -> tuple[int, ...] | None:
        """The sector read as a table of sector ids."""
        data = self.read(sid)
        return None if data is None else struct.unpack(f"<{self.per_sector}I", data)


def _fat_sector_ids(header: bytes, sectors: _Sectors) -> list[int] | None:
    """Where the FAT lies: the header's 109 slots, then the DIFAT chain."""
    (n_fat,) = struct.unpack_from("<I", header, 44)
    (first_difat, n_difat) = struct.unpack_from("<II", header, 68)
    fat_sids = [s for s in struct.unpack_from("<109I", header, 76) if s <= _MAX_REG_SECT]
    sid, seen = first_difat, set[int]()
    while sid <= _MAX_REG_SECT and len(seen) < n_difat and sid not in seen:
        seen.add(sid)
        entries = sectors.ids(sid)
        if entries is None:
            return None
        fat_sids.extend(s for s in entries[:-1] if s <= _MAX_REG_SECT)
        sid = entries[-1]
    return fat_sids[:n_fat]


class _Fat:
    """Follows sector chains, reading each FAT sector once."""

    def __init__(self, sectors: _Sectors, fat_sids: list[int]) -> None:
        self.sectors = sectors
        self.fat_sids = fat_sids
        self._cache: dict[int, tuple[int, ...]] = {}

    def next_sid(self, sid: int) -> int | None:
        index = sid // self.sectors.per_sector
        if index >= len(self.fat_sids):
            return None
        if index not in self._cache:
            entries = self.sectors.ids(self.fat_sids[index])
            if entries is None:
                return None
            self._cache[index] = entries
        following: int = self._cache[index][sid % self.sectors.per_sector]
        return following


def _directory_sector_ids(first_dir: int, fat: _Fat) -> list[int] | None:
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
        step = fat.next_sid(step)
    return dir_sids


class _Directory:
    def __init__(self, sectors: _Sectors, dir_sids: list[int]) -> None:
        self.sectors = sectors
        self.dir_sids = dir_sids
        self.per_sector = sectors.size // _DIR_ENTRY

    def entry(self, did: int) -> bytes | None:
        index = did // self.per_sector
        if index >= len(self.dir_sids):
            return None
        offset = (self.dir_sids[index] + 1) * self.sectors.size + (
            did % self.per_sector
        ) * _DIR_ENTRY
        data = self.sectors.read_at(offset, _DIR_ENTRY)
        return data if len(data) == _DIR_ENTRY else None


def _root_streams(directory: _Directory) -> set[str] | None:
    """Walks the root's red-black tree of children, keeping the streams' names."""
    root = directory.entry(0)
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
        data = directory.entry(did)
        if data is None:
            return None
        (name_len,) = struct.unpack_from("<H", data, 64)
        if data[66] == _OBJ_STREAM and 2 <= name_len <= 64:
            names.add(data[: name_len - 2].decode("utf-16-le", errors="replace").upper())
        left, right = struct.unpack_from("<II", data, 68)
        pending.extend((left, right))
    return names

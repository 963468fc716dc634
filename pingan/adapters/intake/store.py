"""Content-addressed evidence store and quarantine on a local directory.

Accepted files are kept once per SHA-256, so a unit re-sending the same scan costs no
space and a stored file can always be checked against the digest recorded for it.
Rejected files go to a quarantine with a reason note beside them, for the coordinator
to explain a rejection to the unit that sent it.
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import itertools
import os
import re
import shutil
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

from pingan.adapters.intake.checks import (
    CHUNK_SIZE,
    WINDOWS_RESERVED_CHARS,
    is_unsafe_char,
    is_windows_device_name,
)

_SHA256 = re.compile(r"[0-9a-f]{64}")
_TEMP_SUFFIX = ".part"
# Stored evidence never changes after it is written; read-only makes an accidental
# edit fail loudly instead of silently breaking the digest. Owner only: it is private.
_EVIDENCE_MODE = 0o400
# A refused file is kept only up to this many bytes (its head is what a coordinator needs
# to tell the sender what went wrong), so refused uploads cannot fill the disk.
QUARANTINE_KEEP_BYTES = 64 * 1024


class EvidenceStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        self._dirs: set[Path] = set()
        self._unsynced = 0

    def flush(self) -> None:
        """Make every put(sync=False) since the last flush durable with one filesystem sync,
        instead of an fsync per file and folder (a batch of 500 files costs one sync)."""
        if not self._unsynced:
            return
        _syncfs(self.root)
        self._unsynced = 0

    def path_for(self, sha256: str) -> Path:
        """root/ab/<sha256>; raises ValueError unless sha256 is 64 hex digits.

        One level of 256 folders: a million files is ~4k per folder, which ext4 and xfs
        handle well, while a second level would cost a mkdir for almost every early file.
        """
        digest = sha256.lower()
        if not _SHA256.fullmatch(digest):
            raise ValueError(f"not a SHA-256 hex digest: {sha256!r}")
        return self.root / digest[:2] / digest

    def has(self, sha256: str) -> bool:
        return self.path_for(sha256).is_file()

    def put(self, src_open: Callable[[], BinaryIO], sha256: str, *, sync: bool = True) -> Path:
        """Store the file under its digest and return where it lies.

        The content is checked against sha256 while it is copied; on a mismatch nothing
        is stored and ValueError is raised. Storing a digest already present reads
        nothing. A crash leaves either no file or a complete one at path_for(sha256).
        """
        dest = self.path_for(sha256)
        if dest.is_file():
            return dest
        # The temp file lives beside its destination: the rename stays in one folder, and a
        # single shared temp folder churned by every put made creating files there slow.
        self._ensure_dir(dest.parent, sync)
        temp, actual, _ = _copy_to_temp(src_open, dest.parent, sync=sync)
        try:
            if actual != sha256.lower():
                raise ValueError(f"content digest {actual} does not match expected {sha256}")
            os.chmod(temp, _EVIDENCE_MODE)
            # Another writer may have stored the same digest meanwhile; the content is
            # identical, so replacing it is harmless.
            os.replace(temp, dest)
        except BaseException:
            temp.unlink(missing_ok=True)
            raise
        if sync:
            _fsync_dir(dest.parent)
        else:
            self._unsynced += 1
        return dest

    def _ensure_dir(self, path: Path, sync: bool) -> None:
        if path in self._dirs:
            return
        _make_dirs(path, sync=sync)
        self._dirs.add(path)

    def sweep_temp(self, older_than_s: float = 3600) -> int:
        """Delete temp files left by interrupted puts; return how many were removed.

        Only files older than older_than_s go, so a put still copying is left alone.
        """
        if not self.root.is_dir():
            return 0
        cutoff = time.time() - older_than_s
        removed = 0
        folders = [p for p in self.root.iterdir() if p.is_dir()]
        for folder in folders:
            for entry in folder.iterdir():
                if not (entry.name.startswith(".") and entry.name.endswith(_TEMP_SUFFIX)):
                    continue
                with contextlib.suppress(FileNotFoundError):
                    if entry.is_file() and entry.stat().st_mtime < cutoff:
                        entry.unlink()
                        removed += 1
        return removed


class Quarantine:
    """Refused files, each cut to its first keep_bytes bytes beside a note that records the
    whole file's size and SHA-256."""

    def __init__(self, root: Path, keep_bytes: int = QUARANTINE_KEEP_BYTES) -> None:
        if keep_bytes < 0:
            raise ValueError(f"keep_bytes must not be negative: {keep_bytes}")
        self.root = root
        self.keep_bytes = keep_bytes

    def kept(self, size: int) -> int:
        """How many bytes of a refused file of size bytes the quarantine writes."""
        return min(size, self.keep_bytes)

    def sweep_temp(self, older_than_s: float = 3600) -> int:
        """Delete the half-built folders of puts that were interrupted (killed, or the disk
        filled while the cleanup could not run); return how many were removed."""
        if not self.root.is_dir():
            return 0
        cutoff = time.time() - older_than_s
        removed = 0
        for day in [p for p in self.root.iterdir() if p.is_dir()]:
            for entry in day.iterdir():
                if not (entry.name.startswith(".") and entry.name.endswith(_TEMP_SUFFIX)):
                    continue
                with contextlib.suppress(FileNotFoundError):
                    if entry.lstat().st_mtime < cutoff:
                        if entry.is_dir() and not entry.is_symlink():
                            shutil.rmtree(entry, ignore_errors=True)
                        else:
                            entry.unlink()
                        removed += 1
        return removed

    def put(
        self,
        src_open: Callable[[], BinaryIO],
        relative_name: str,
        reason_code: str,
        reason: str,
        when: datetime,
    ) -> Path:
        """Copy the first keep_bytes of a rejected file to root/<YYYYMMDD>/<uuid>/<safe name>
        and return its path.

        A note <safe name>.reason.txt beside it records, in Chinese, the original
        relative path, the reason, the time, and the size and SHA-256 of the whole file
        (all of it is read for them) and how many bytes were kept. relative_name only ever
        shapes the basename, never the directory.
        """
        basename = safe_basename(relative_name)
        day = self.root / when.strftime("%Y%m%d")
        _make_dirs(day)
        name = uuid.uuid4().hex
        # Filled under a hidden name and renamed into place whole: neither a reader nor a
        # crash (SIGKILL runs no cleanup) ever leaves a quarantined file without its reason.
        building = day / f".{name}{_TEMP_SUFFIX}"
        building.mkdir()
        try:
            temp, sha256, size = _copy_to_temp(src_open, building, keep=self.keep_bytes)
            os.replace(temp, building / basename)
            note = "\n".join(
                (
                    f"原始相对路径:{_printable(relative_name)}",
                    f"原因代码:{reason_code}",
                    f"原因:{_printable(reason)}",
                    f"隔离时间:{when.isoformat(sep=' ', timespec='seconds')}",
                    f"文件大小:{size} 字节",
                    f"SHA-256:{sha256}",
                    *_kept_line(size, self.kept(size)),
                    "",
                )
            )
            _write_text_durably(building / f"{basename}.reason.txt", note)
            _fsync_dir(building)
            folder = day / name
            os.replace(building, folder)
        except BaseException:
            shutil.rmtree(building, ignore_errors=True)
            raise
        _fsync_dir(day)
        return folder / basename


_MAX_BASENAME_BYTES = 200  # leaves room for ".reason.txt" within the 255-byte limit
_MAX_SUFFIX_CHARS = 16
# Leading dots would hide the file; trailing dots and spaces vanish on Windows.
_EDGES = re.compile(r"^[\s.]+|[\s.]+$")


def safe_basename(relative_name: str) -> str:
    """A harmless file name derived from an untrusted, possibly hostile, relative path."""
    last = re.split(r"[/\\]", relative_name)[-1]
    cleaned = _EDGES.sub(
        "",
        "".join("_" if is_unsafe_char(ch) or ch in WINDOWS_RESERVED_CHARS else ch for ch in last),
    )
    if not cleaned:
        return "unnamed"
    stem, dot, suffix = cleaned.rpartition(".")
    if not dot or not stem or len(suffix) > _MAX_SUFFIX_CHARS:
        stem, dot, suffix = cleaned, "", ""
    tail = dot + suffix
    budget = _MAX_BASENAME_BYTES - len(tail.encode("utf-8"))
    # Cutting UTF-8 bytes can split a Chinese character; "ignore" drops the fragment.
    stem = _EDGES.sub("", stem.encode("utf-8")[:budget].decode("utf-8", errors="ignore"))
    if is_windows_device_name(stem):
        stem = "_" + stem
    return (stem or "unnamed") + tail


def _printable(text: str) -> str:
    """Escape characters that could forge lines in, or garble, the reason note."""
    return "".join(f"\\u{ord(ch):04x}" if is_unsafe_char(ch) else ch for ch in text)


_temp_counter = itertools.count()


def _kept_line(size: int, kept: int) -> tuple[str, ...]:
    """The note's line saying the copy is cut short; none when it is the whole file."""
    if kept >= size:
        return ()
    return (f"保留内容:仅前 {kept} 字节（文件大小与 SHA-256 为完整文件的）",)


def _copy_to_temp(
    src_open: Callable[[], BinaryIO],
    directory: Path,
    *,
    sync: bool = True,
    keep: int | None = None,
) -> tuple[Path, str, int]:
    """Copy into a fresh temp file in directory (fsynced when sync); return (path, sha256,
    size) of the whole source. With keep, only its first keep bytes are written."""
    # O_EXCL with a per-process counter: mkstemp's random-name retries cost more than the copy.
    temp = directory / f".{os.getpid()}-{next(_temp_counter)}-{time.monotonic_ns()}{_TEMP_SUFFIX}"
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    digest = hashlib.sha256()
    size = 0
    try:
        with os.fdopen(fd, "wb") as out, src_open() as src:
            while chunk := src.read(CHUNK_SIZE):
                digest.update(chunk)
                room = len(chunk) if keep is None else max(0, keep - size)
                size += len(chunk)
                if room:
                    out.write(chunk[:room])
            out.flush()
            if sync:
                os.fsync(out.fileno())
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return temp, digest.hexdigest(), size


def _write_text_durably(dest: Path, text: str) -> None:
    fd, name = tempfile.mkstemp(dir=dest.parent, suffix=_TEMP_SUFFIX)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.replace(name, dest)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise


def _make_dirs(path: Path, *, sync: bool = True) -> None:
    """mkdir -p, syncing each parent whose listing changed so the new dirs survive a crash."""
    missing: list[Path] = []
    current = path
    while not current.is_dir():
        missing.append(current)
        current = current.parent
    for directory in reversed(missing):
        with contextlib.suppress(FileExistsError):
            directory.mkdir()
        if sync:
            _fsync_dir(directory.parent)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _syncfs(path: Path) -> None:
    """syncfs(2) on the filesystem holding path (Linux); os.sync() elsewhere."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        fd = os.open(path, os.O_RDONLY)
        try:
            if libc.syncfs(fd) == 0:
                return
        finally:
            os.close(fd)
    except (OSError, AttributeError):
        pass
    os.sync()

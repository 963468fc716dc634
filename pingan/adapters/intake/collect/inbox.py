"""The files waiting in an inbox, local or fsspec, and how each one leaves it once handled.

Layout: ``<inbox>/<deliverable kind>/<unit code>/<file or nested path>``. Uploaders' temp
files, links and special files are left where they are and counted as skipped.
"""

from __future__ import annotations

import contextlib
import os
import threading
import uuid
from collections.abc import Callable, Iterator
from typing import Any, BinaryIO, cast

import fsspec
from fsspec.implementations.local import LocalFileSystem

from pingan.adapters.intake.checks import Opener
from pingan.adapters.intake.collect.model import IntakeReport, Item, problem
from pingan.core.problems import InputError, Problem

PROCESSED_DIR = ".processed"
_TEMP_PREFIXES = (".", "~$")
_TEMP_SUFFIXES = (".part", ".tmp")
# Without O_NOFOLLOW (Windows) a swapped-in link is still caught by the listing.
_O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


def list_inbox(inbox: str, report: IntakeReport, day: str) -> list[Item]:
    """The inbox's files sorted by path; handled local files move to .processed/<day>."""
    try:
        fs, root = fsspec.core.url_to_fs(inbox)
    # ValueError: no filesystem for the protocol; ImportError: its driver is not installed;
    # OSError: a remote one that cannot be reached. Nothing was taken in either way.
    except (ValueError, ImportError) as exc:
        raise InputError([Problem(inbox, "", f"报送目录地址无法识别（{exc}）")]) from None
    except OSError as exc:
        raise InputError([Problem(inbox, "", f"无法连接报送目录：{_os_reason(exc)}")]) from None
    root = str(root).rstrip("/")
    if isinstance(fs, LocalFileSystem):
        mover = _ProcessedMover(os.path.join(root, PROCESSED_DIR, day))
        items = [
            _inbox_item(rel, size, _local_opener(path), mover.remover(path, rel))
            for path, rel, size in _walk_local(root, report)
        ]
    else:
        items = _list_remote(fs, inbox, root, report)
    # Sorted so one unit's files fall into one batch and so runs are reproducible.
    items.sort(key=lambda i: i.rel)
    return items


def _list_remote(fs: Any, inbox: str, root: str, report: IntakeReport) -> list[Item]:
    prefix = root + "/"
    items: list[Item] = []
    try:
        listing = fs.find(root, detail=True, withdirs=False)
    except OSError as exc:
        raise InputError([Problem(inbox, "", f"无法读取报送目录：{_os_reason(exc)}")]) from None
    for path, info in listing.items():
        if not path.startswith(prefix) or info.get("type", "file") != "file":
            continue
        rel = path[len(prefix) :]
        if any(_is_transient(s) for s in rel.split("/")):
            report.skipped += 1
            continue
        items.append(
            _inbox_item(rel, info.get("size"), _fs_opener(fs, path), _fs_remover(fs, path))
        )
    return items


def _is_transient(segment: str) -> bool:
    lowered = segment.lower()
    return segment.startswith(_TEMP_PREFIXES) or lowered.endswith(_TEMP_SUFFIXES)


def _os_reason(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__


def _walk_local(root: str, report: IntakeReport) -> Iterator[tuple[str, str, int]]:
    """(path, relative path, size) of regular files; links and special files are skipped.

    A link could make us copy a file from outside the inbox, and a FIFO would block the read.
    """
    pending = [(root, "")]
    while pending:
        directory, prefix = pending.pop()
        try:
            entries = list(os.scandir(directory))
        except FileNotFoundError:
            continue
        for entry in entries:
            if not prefix and entry.name == PROCESSED_DIR:
                continue
            if _is_transient(entry.name) or entry.is_symlink():
                report.skipped += 1
            elif entry.is_dir(follow_symlinks=False):
                pending.append((entry.path, f"{prefix}{entry.name}/"))
            elif entry.is_file(follow_symlinks=False):
                yield entry.path, prefix + entry.name, entry.stat(follow_symlinks=False).st_size
            else:
                report.skipped += 1


def _inbox_item(rel: str, size: int | None, opener: Opener, remove: Callable[[], None]) -> Item:
    parts = rel.split("/", 2)
    if len(parts) < 3:
        return Item(rel, "", "", rel, size, opener, remove, problem=problem("bad_layout"))
    kind, unit, name = parts
    return Item(rel, kind, unit, name, size, opener, remove)


def _local_opener(path: str) -> Opener:
    def open_() -> BinaryIO:
        return os.fdopen(os.open(path, os.O_RDONLY | _O_NOFOLLOW), "rb")

    return open_


class _ProcessedMover:
    """Takes handled files out of a local inbox by renaming them into
    ``<inbox>/.processed/<YYYYMMDD>/<same path>``.

    A rename on the same filesystem costs no copy and frees no blocks, where an unlink on a
    disk mounted with ``discard`` waits for the TRIM; the sender's original is also kept,
    as nothing in intake is ever deleted. Operators prune old days as their retention rules
    allow.
    """

    def __init__(self, base: str) -> None:
        self.base = base
        self._dirs: set[str] = set()
        self._lock = threading.Lock()

    def remover(self, path: str, rel: str) -> Callable[[], None]:
        def remove() -> None:
            dest = os.path.join(self.base, rel)
            folder = os.path.dirname(dest)
            if folder not in self._dirs:
                os.makedirs(folder, exist_ok=True)
                with self._lock:
                    self._dirs.add(folder)
            if os.path.lexists(dest):  # the same name sent again the same day
                dest = f"{dest}.{uuid.uuid4().hex[:8]}"
            with contextlib.suppress(FileNotFoundError):
                os.replace(path, dest)

        return remove


def _fs_opener(fs: Any, path: str) -> Opener:
    return lambda: cast(BinaryIO, fs.open(path, "rb"))


def _fs_remover(fs: Any, path: str) -> Callable[[], None]:
    def remove() -> None:
        with contextlib.suppress(FileNotFoundError):
            fs.rm_file(path)

    return remove

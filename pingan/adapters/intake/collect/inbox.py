"""The files waiting in an inbox, local or fsspec, and how each one leaves it once handled.

Layout: ``<inbox>/<deliverable kind>/<unit code>/<file or nested path>``. Uploaders' temp
files and hidden files are left where they are, each reported as skipped with its reason.
Links (to files or folders) and special files are never followed or read: each is
quarantined as a reason note and taken out of the inbox. A folder whose name climbs or
hides a separator (``..\\..\\x``, ``..%2F..``) is walked like any other, and every file in it
is refused with that reason. An inbox whose files cannot be taken away once handled (a
``zip://`` or ``http://`` address) is refused before anything is read.
"""

from __future__ import annotations

import contextlib
import io
import os
import stat
import threading
import unicodedata
import uuid
from collections.abc import Callable, Iterator
from typing import Any, BinaryIO, cast

import fsspec
from fsspec.implementations.local import LocalFileSystem
from fsspec.spec import AbstractFileSystem

from pingan.adapters.intake.checks import Opener, check_relative_name
from pingan.adapters.intake.collect.model import (
    WAIT_TEMP,
    IntakeReport,
    Item,
    os_reason,
    problem,
)
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
        raise InputError([Problem(inbox, "", f"无法连接报送目录：{os_reason(exc)}")]) from None
    root = str(root).rstrip("/")
    if isinstance(fs, LocalFileSystem):
        mover = _ProcessedMover(os.path.join(root, PROCESSED_DIR, day))
        items = list(_walk_local(root, report, mover))
    else:
        _require_removable(fs, inbox)
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
        raise InputError([Problem(inbox, "", f"无法读取报送目录：{os_reason(exc)}")]) from None
    for path, info in listing.items():
        if not path.startswith(prefix) or info.get("type", "file") != "file":
            continue
        rel = path[len(prefix) :]
        if any(_is_transient(s) for s in rel.split("/")):
            report.skip(rel, WAIT_TEMP)
            continue
        items.append(
            _inbox_item(rel, info.get("size"), _fs_opener(fs, path), _fs_remover(fs, path))
        )
    return items


# Archives and web addresses: files can be read there but never taken away, so every run
# would record them again.
_READ_ONLY_PROTOCOLS = frozenset({"zip", "tar", "libarchive", "http", "https", "github", "git"})


def _require_removable(fs: Any, inbox: str) -> None:
    protocols = {fs.protocol} if isinstance(fs.protocol, str) else set(fs.protocol)
    cls = type(fs)
    cannot_remove = all(
        getattr(cls, name) is getattr(AbstractFileSystem, name) for name in ("_rm", "rm_file", "rm")
    )
    if protocols & _READ_ONLY_PROTOCOLS or cannot_remove:
        raise InputError(
            [
                Problem(
                    inbox,
                    "",
                    "该报送目录只能读取、不能移出已收取的文件（如 zip://、http:// 地址），"
                    "请先解压或下载到本地目录后再收取",
                )
            ]
        )


def _is_transient(segment: str) -> bool:
    """An uploader's temp file or a hidden file; a name starting with ".." is neither but an
    attempt to climb, and is refused rather than left alone."""
    lowered = segment.lower()
    if segment.startswith(".."):
        return False
    return segment.startswith(_TEMP_PREFIXES) or lowered.endswith(_TEMP_SUFFIXES)


def _walk_local(root: str, report: IntakeReport, mover: _ProcessedMover) -> Iterator[Item]:
    """The inbox's regular files as items; links and special files as items to quarantine.

    A link could make us copy a file from outside the inbox, and a FIFO would block the
    read: neither is ever opened.
    """
    pending = [(root, "")]
    while pending:
        directory, prefix = pending.pop()
        try:
            entries = list(os.scandir(directory))
        except FileNotFoundError:
            continue
        except OSError as exc:
            report.skip(prefix.rstrip("/") or ".", f"目录无法读取（{os_reason(exc)}），已跳过")
            continue
        for entry in entries:
            if not prefix and entry.name == PROCESSED_DIR:
                continue
            rel = prefix + entry.name
            try:
                info = entry.stat(follow_symlinks=False)
            except FileNotFoundError:
                continue
            if stat.S_ISLNK(info.st_mode):
                yield _unfollowed(entry.path, rel, problem("symlink", target=_link_target(entry)))
            elif _is_transient(entry.name):
                report.skip(rel, WAIT_TEMP)
            elif stat.S_ISDIR(info.st_mode):
                pending.append((entry.path, f"{rel}/"))
            elif stat.S_ISREG(info.st_mode):
                remove = mover.remover(entry.path, rel)
                yield _inbox_item(rel, info.st_size, _local_opener(entry.path), remove)
            else:
                what = "管道" if stat.S_ISFIFO(info.st_mode) else "设备或套接字"
                yield _unfollowed(entry.path, rel, problem("special_file", what=what))


def _link_target(entry: os.DirEntry[str]) -> str:
    try:
        target = os.readlink(entry.path)
    except OSError:
        return "无法读取"
    cleaned = "".join(
        "?" if unicodedata.category(ch) in ("Cc", "Cf", "Cs") else ch for ch in target
    )
    return cleaned if len(cleaned) <= 80 else cleaned[:80] + "…"


def _unfollowed(path: str, rel: str, found: tuple[str, str]) -> Item:
    """A link or special file: quarantined as its reason note alone, then unlinked (which
    removes the link or the node, never what a link points to)."""

    def remove() -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)

    return Item(rel, "", "", rel, 0, _nothing, remove, problem=found)


def _nothing() -> BinaryIO:
    return io.BytesIO(b"")


def _inbox_item(rel: str, size: int | None, opener: Opener, remove: Callable[[], None]) -> Item:
    parts = rel.split("/", 2)
    if len(parts) < 3:
        return Item(rel, "", "", rel, size, opener, remove, problem=problem("bad_layout"))
    kind, unit, name = parts
    for folder in (kind, unit):
        detail = _folder_problem(folder)
        if detail is not None:
            found = problem("unsafe_folder", name=_quoted(folder), detail=detail)
            return Item(rel, kind, unit, name, size, opener, remove, problem=found)
    return Item(rel, kind, unit, name, size, opener, remove)


def _folder_problem(folder: str) -> str | None:
    if folder.startswith("..") or "%2f" in folder.lower() or "%5c" in folder.lower():
        return "含有上级目录“..”或编码后的路径分隔符"
    found = check_relative_name(folder)
    return None if found is None else found.message


def _quoted(folder: str) -> str:
    cleaned = "".join(
        "?" if unicodedata.category(ch) in ("Cc", "Cf", "Cs") else ch for ch in folder
    )
    return "“" + (cleaned if len(cleaned) <= 40 else cleaned[:40] + "…") + "”"


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
        # NotImplementedError: a file system that lists and reads but cannot delete; the file
        # stays, and the next run counts it as a duplicate rather than crashing.
        with contextlib.suppress(FileNotFoundError, NotImplementedError):
            fs.rm_file(path)

    return remove

"""Working state is private to the user who runs pingan, whatever their umask.

The database holds contacts, verification codes and message bodies; evidence, quarantine,
outputs and the award key are no business of other local users either. Every process
(the CLI, a worker, the portal, the demo) narrows its umask to 077 once, so each file any
library creates is 0600 and each folder 0700; the SQLite file is also created 0600 up
front (SQLite gives its -wal and -shm the database file's mode) and an existing one that
other users could read is narrowed.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Final

PRIVATE_BITS: Final = 0o077  # group and others: nothing
DIR_MODE: Final = 0o700
FILE_MODE: Final = 0o600
SQLITE_SIDE_FILES: Final = ("-wal", "-shm", "-journal")


def keep_state_private() -> None:
    """Narrow the process umask so nothing it creates is open to group or others; an umask
    that is already stricter stays as it is."""
    current = os.umask(PRIVATE_BITS)
    os.umask(current | PRIVATE_BITS)


def private_dirs(path: Path) -> None:
    """``mkdir -p`` where every folder created is 0700 (``Path.mkdir(parents=True)`` would
    give the parents the umask's default)."""
    missing: list[Path] = []
    probe = path
    while not probe.exists():
        missing.append(probe)
        if probe.parent == probe:
            break
        probe = probe.parent
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=DIR_MODE)
        except FileExistsError:
            continue  # another process made it meanwhile
        os.chmod(folder, DIR_MODE)  # mkdir's mode passes through the umask; be exact


def private_sqlite_file(path: Path) -> None:
    """Create the database file 0600 before SQLite does; narrow an existing one (and its
    -wal/-shm) that group or others can read, when it is ours."""
    private_dirs(path.parent)
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE))
        os.chmod(path, FILE_MODE)
        return
    except FileExistsError:
        pass
    for candidate in [path, *(path.with_name(path.name + s) for s in SQLITE_SIDE_FILES)]:
        _narrow(candidate)


def _narrow(path: Path) -> None:
    try:
        info = path.stat()
    except OSError:
        return
    if stat.S_ISREG(info.st_mode) and info.st_mode & PRIVATE_BITS and info.st_uid == os.getuid():
        os.chmod(path, stat.S_IMODE(info.st_mode) & ~PRIVATE_BITS)

"""Files `pingan campaign init` writes: refused if any exists (without --force), each written
whole or not at all."""

from __future__ import annotations

import contextlib
import csv
import io
import os
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path

from pingan.adapters.render.cells import safe_cell
from pingan.cli.common import os_reason
from pingan.core.problems import InputError, Problem

NOT_A_FOLDER = "路径中有一段不是文件夹"
Table = tuple[Sequence[str], Sequence[Sequence[str]]]


def write_new(files: Mapping[Path, str | Table], *, force: bool) -> list[Path]:
    """Write every file (text, or a CSV table with a BOM so Excel reads it as UTF-8)."""
    existing = [p for p in files if p.exists()]
    if existing and not force:
        raise InputError(
            [Problem(str(p), "", "文件已存在，未覆盖（确需覆盖请加 --force）") for p in existing]
        )
    written: list[Path] = []
    for path, content in files.items():
        if isinstance(content, str):
            data = content
        else:
            buf = io.StringIO()
            # Names come from the operator's answers: "=…" must stay text in Excel.
            rows = ([str(safe_cell(c)) for c in row] for row in [content[0], *content[1]])
            csv.writer(buf, lineterminator="\n").writerows(rows)
            data = "\ufeff" + buf.getvalue()
        _atomic(path, data)
        written.append(path)
    return written


def _atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):  # under a file, the unlink fails the same way
            tmp.unlink(missing_ok=True)
        exc.filename = None  # the hidden temp name would only confuse: name the target
        # Only mkdir raises FileExistsError here: a file stands where a folder must be.
        reason = NOT_A_FOLDER if isinstance(exc, FileExistsError) else os_reason(exc)
        raise InputError([Problem(str(path), "", f"无法写入：{reason}")]) from None

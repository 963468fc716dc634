"""The files an operator's CSV manifest (path,kind,unit[,submitted_by,note]) lists.

Paths are relative to the manifest's folder; a bad row becomes a manifest_row rejection
carrying its row number, so the rest of the manifest is still taken in.
"""

from __future__ import annotations

import csv
from pathlib import Path

from pingan.adapters.intake.checks import Opener, check_relative_name
from pingan.adapters.intake.collect.model import (
    MAX_NOTE,
    MAX_ORIGINAL_NAME,
    MAX_SUBMITTED_BY,
    Item,
    intake_message,
)
from pingan.adapters.intake.tabular import CsvRows, Refused, open_csv
from pingan.core.problems import InputError, Problem

_MANIFEST_COLUMNS = ("path", "kind", "unit")
# A manifest lists files, one short line each: 64 MB is hundreds of thousands of them.
_MAX_MANIFEST_BYTES = 64 * 1024 * 1024


def read_manifest(manifest: Path) -> list[Item]:
    """One item per non-blank row; raises InputError for an unreadable manifest or a
    missing required column."""
    source = manifest.name
    try:
        with open_csv(manifest, "utf-8-sig", _MAX_MANIFEST_BYTES) as fh:
            rows = list(CsvRows(fh))
    except UnicodeDecodeError:
        raise InputError(
            [Problem(source, "", "报送清单不是 UTF-8 编码,请另存为 UTF-8 CSV 后重试")]
        ) from None
    except Refused as refused:
        raise InputError([Problem(source, refused.where, refused.message)]) from None
    except csv.Error as exc:
        raise InputError([Problem(source, "", f"报送清单 CSV 格式错误:{exc}")]) from None
    except OSError as exc:
        raise InputError([Problem(source, "", f"无法读取报送清单:{exc.strerror}")]) from None
    header = [h.strip().lower() for h in rows[0]] if rows else []
    missing = [c for c in _MANIFEST_COLUMNS if c not in header]
    if missing:
        raise InputError(
            [
                Problem(
                    source,
                    "第 1 行",
                    f"表头缺少列:{'、'.join(missing)}(须包括 path、kind、unit)",
                )
            ]
        )
    column = {name: header.index(name) for name in header}
    folder = manifest.resolve().parent
    # Row numbers as a spreadsheet shows them: the header is row 1.
    return [
        _row_item(folder, column, number, cells)
        for number, cells in enumerate(rows[1:], start=2)
        if any(c.strip() for c in cells)
    ]


def _row_item(folder: Path, column: dict[str, int], number: int, cells: list[str]) -> Item:
    def cell(name: str) -> str:
        index = column.get(name)
        return cells[index].strip() if index is not None and index < len(cells) else ""

    path, kind, unit = cell("path"), cell("kind"), cell("unit")
    by, note = cell("submitted_by") or None, cell("note") or None
    target = folder / path
    item = Item(
        path,
        kind,
        unit,
        path,
        None,
        _path_opener(target),
        None,
        submitted_by=by,
        note=note,
    )
    detail = _row_problem(folder, path, kind, unit, by, note)
    if detail is not None:
        item.problem = (
            "manifest_row",
            intake_message("manifest_row", row=number, detail=detail),
        )
    else:
        item.size = target.stat().st_size
    return item


def _path_opener(path: Path) -> Opener:
    return lambda: path.open("rb")


def _row_problem(
    folder: Path, path: str, kind: str, unit: str, by: str | None, note: str | None
) -> str | None:
    empty = [
        name for name, value in zip(_MANIFEST_COLUMNS, (path, kind, unit), strict=True) if not value
    ]
    if empty:
        return f"缺少必填项:{'、'.join(empty)}"
    name_problem = check_relative_name(path)
    if name_problem is not None:
        return f"路径 {path!r} 无效:{name_problem.message}"
    target = folder / path
    # A link inside the folder may still point outside it.
    if not target.resolve().is_relative_to(folder):
        return f"路径 {path!r} 指向报送清单所在目录之外"
    if not target.is_file():
        return f"文件不存在:{path}"
    if len(path) > MAX_ORIGINAL_NAME:
        return f"路径过长(不超过 {MAX_ORIGINAL_NAME} 个字符)"
    if by is not None and len(by) > MAX_SUBMITTED_BY:
        return f"submitted_by 过长(不超过 {MAX_SUBMITTED_BY} 个字符)"
    if note is not None and len(note) > MAX_NOTE:
        return f"note 过长(不超过 {MAX_NOTE} 个字符)"
    return None

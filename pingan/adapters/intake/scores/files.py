"""Score sheet files: a workbook with one sheet per domain, or one CSV with a 领域 column."""

from __future__ import annotations

import csv
from collections.abc import Iterator, Mapping, Sequence
from datetime import date
from itertools import islice
from pathlib import Path
from typing import Any

import openpyxl

from pingan.adapters.intake.scores.columns import norm
from pingan.adapters.intake.scores.table import (
    MAX_ROWS,
    Broken,
    Import,
    ImportResult,
    Record,
    Stop,
)
from pingan.adapters.intake.scores.values import q, row_filled
from pingan.adapters.intake.tabular import (
    CsvRows,
    Refused,
    Unreadable,
    detect_encoding,
    guarded_rows,
    open_csv,
    preflight,
    workbook_problem,
)
from pingan.core.campaign import Campaign
from pingan.core.problems import Problem
from pingan.core.scores import CellRef

# Columns read beyond the template's own: enough to catch data typed to the right of the
# table, few enough that a sheet claiming 16,384 columns costs nothing.
_EXTRA_COLUMNS = 32


def read_scores(
    path: Path,
    campaign: Campaign,
    cells: Mapping[str, CellRef],
    *,
    today: date,
    window: tuple[date, date],
) -> ImportResult:
    """Read a filled score template (.xlsx) or CSV; never raises on bad content.

    `cells` maps cell codes to the active cells; `window` is the acceptance period,
    inclusive. Rows are returned only when there is no problem at all.
    """
    source = str(path)
    reader = Import(source, campaign, cells, today, window)

    def fail(message: str) -> ImportResult:
        return ImportResult([], [Problem(source, "", message)])

    problem = preflight(path, "评分表", q(path.suffix or "（无扩展名）"))
    if problem is not None:
        return fail(problem)
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            return _read_csv(path, reader)
        return _read_xlsx(path, reader)
    except OSError as exc:
        return fail(f"无法读取文件：{exc.strerror or exc}")
    except Stop as stop:
        return fail(str(stop))
    except Refused as refused:
        return ImportResult([], [Problem(source, refused.where, refused.message)])


# --- CSV ---------------------------------------------------------------------------------


def _csv_records(reader: CsvRows) -> Iterator[Record]:
    while True:
        try:
            record = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            # The reader resumes with the next record: one bad record, one row lost.
            yield Broken(
                "有单元格内容过长，无法读取"
                if "field limit" in str(exc)
                else f"CSV 格式错误（{exc}）"
            )
        else:
            yield record


def _read_csv(path: Path, reader: Import) -> ImportResult:
    encoding = detect_encoding(path)
    if encoding is None:
        return ImportResult(
            [],
            [
                Problem(
                    reader.source,
                    "",
                    "无法识别文件编码：既不是 UTF-8，也不是 GBK/GB18030；"
                    "请在 Excel 中另存为“CSV UTF-8（逗号分隔）”",
                )
            ],
        )
    with open_csv(path, encoding) as fh:
        try:
            reader.table("", _csv_records(CsvRows(fh)), None)
        except UnicodeDecodeError:
            # Only if the file changed after its encoding was checked.
            return ImportResult(
                [], [Problem(reader.source, "", "文件在读取过程中被修改，请重新上传")]
            )
    return reader.result()


# --- workbook ----------------------------------------------------------------------------


def _xlsx_rows(sheet: Any, width: int) -> Iterator[Sequence[Any]]:
    # Dimensions in the file may be wrong (some writers always say A1); they are ignored,
    # and every row is cut to `width` so a cell at column XFD cannot cost 16,384 Nones a row.
    sheet.reset_dimensions()
    yield from guarded_rows(sheet.iter_rows(max_col=width, values_only=True))


def _read_xlsx(path: Path, reader: Import) -> ImportResult:
    problem = workbook_problem(path)
    if problem is not None:
        return ImportResult([], [Problem(reader.source, "", problem)])
    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception:
        return ImportResult(
            [],
            [Problem(reader.source, "", "无法打开 Excel 文件：文件已损坏或不是 .xlsx 格式")],
        )
    try:
        widest = max(len(spec.columns) for spec in reader.specs.values()) + _EXTRA_COLUMNS
        for sheet in book.worksheets:
            title = str(sheet.title)
            key = reader.domain_names.get(norm(title))
            if key is None:
                _other_sheet(reader, sheet, title, widest)
                continue
            prefix = f"工作表 {title} "
            width = len(reader.specs[key].columns) + _EXTRA_COLUMNS
            try:
                reader.table(prefix, _xlsx_rows(sheet, width), key)
            except Unreadable:
                line = reader.line + 1
                reader.add(f"{prefix}第 {line} 行", "Excel 文件内容损坏，从本行起无法读取")
    finally:
        book.close()
    return reader.result()


def _other_sheet(reader: Import, sheet: Any, title: str, width: int) -> None:
    """An empty extra sheet (WPS adds Sheet1) is harmless; one with data is not."""
    try:
        rows = islice(_xlsx_rows(sheet, width), MAX_ROWS)
        used = any(map(row_filled, rows))
    except Unreadable:
        used = True
    if used:
        reader.content = True
        names = "、".join(reader.titles.values())
        reader.add(
            f"工作表 {title}",
            f"工作表名称不是任何创建领域（应为：{names}），其内容不会被读取；请改名或删除该工作表",
        )

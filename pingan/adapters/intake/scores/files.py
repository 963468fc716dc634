"""Score sheet files: a workbook (.xlsx, .xls, .ods) with one sheet per domain, or one text
file (.csv, .txt) with a 领域 column."""

from __future__ import annotations

import csv
from collections.abc import Iterator, Mapping
from datetime import date
from itertools import islice
from pathlib import Path

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
    TEXT_SUFFIXES,
    CsvRows,
    Refused,
    Unreadable,
    delimiter,
    detect_encoding,
    open_csv,
    preflight,
)
from pingan.adapters.intake.workbook import Book, BookRefused, open_book
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
    """Read a filled score template (a workbook) or a text table; never raises on bad
    content.

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
        if suffix in TEXT_SUFFIXES:
            return _read_csv(path, reader)
        return _read_book(path, reader)
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
            reader.table("", _csv_records(CsvRows(fh, delimiter(path, encoding))), None)
        except UnicodeDecodeError:
            # Only if the file changed after its encoding was checked.
            return ImportResult(
                [], [Problem(reader.source, "", "文件在读取过程中被修改，请重新上传")]
            )
    return reader.result()


# --- workbook ----------------------------------------------------------------------------


def _read_book(path: Path, reader: Import) -> ImportResult:
    try:
        with open_book(path) as book:
            _read_sheets(book, reader)
    except BookRefused as refused:
        return ImportResult([], [Problem(reader.source, "", refused.message)])
    return reader.result()


def _read_sheets(book: Book, reader: Import) -> None:
    widest = max(len(spec.columns) for spec in reader.specs.values()) + _EXTRA_COLUMNS
    for index, title in enumerate(book.titles):
        key = reader.domain_names.get(norm(title))
        if key is None:
            _other_sheet(reader, book, index, title, widest)
            continue
        prefix = f"工作表 {title} "
        # Every row is cut to the template's width and a little more: a cell at column
        # XFD cannot cost 16,384 values a row.
        width = len(reader.specs[key].columns) + _EXTRA_COLUMNS
        try:
            reader.table(prefix, book.rows(index, width), key)
        except Unreadable:
            line = reader.line + 1
            reader.add(f"{prefix}第 {line} 行", "文件内容损坏，从本行起无法读取")


def _other_sheet(reader: Import, book: Book, index: int, title: str, width: int) -> None:
    """An empty extra sheet (WPS adds Sheet1) is harmless; one with data is not."""
    try:
        rows = islice(book.rows(index, width), MAX_ROWS)
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

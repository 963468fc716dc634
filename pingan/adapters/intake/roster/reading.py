"""Reading a roster file, .csv or .xlsx, into the checker one row of text at a time."""

from __future__ import annotations

import csv
import gc
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

import openpyxl

from pingan.adapters.intake.roster.checker import Checker, Stop
from pingan.adapters.intake.roster.columns import ROW_LEVEL
from pingan.adapters.intake.roster.rules import quote
from pingan.adapters.intake.tabular import (
    MAX_COLUMNS,
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
from pingan.core.roster import RosterResult


def read_roster(
    path: Path, campaign: Campaign, *, known_villages: Collection[str] = ()
) -> RosterResult:
    """Read a .csv or .xlsx roster and check every row; never raises on bad content.

    known_villages are village codes already registered, which cells may refer to without
    the village being listed again in this file.
    """
    source = str(path)

    def fail(message: str, where: str = "") -> RosterResult:
        return RosterResult([], [Problem(source, where, message)], set())

    problem = preflight(path, "名册", quote(path.suffix or "（无扩展名）"))
    if problem is not None:
        return fail(problem)
    suffix = path.suffix.lower()
    try:
        with _cyclic_gc_paused():
            if suffix == ".csv":
                return _read_csv(path, source, campaign, known_villages)
            return _read_xlsx(path, source, campaign, known_villages)
    except OSError as exc:
        return fail(f"无法读取文件：{exc.strerror or exc}")
    except Refused as refused:
        return fail(refused.message, refused.where)


@contextmanager
def _cyclic_gc_paused() -> Iterator[None]:
    # A million RosterRows are a million GC-tracked objects that nothing ever frees
    # cyclically, yet every full collection walks them all: on a large roster the
    # collector cost more than all the checks together. Nothing here builds cycles, and
    # reference counting still frees everything else as usual.
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _read_csv(
    path: Path, source: str, campaign: Campaign, known_villages: Collection[str]
) -> RosterResult:
    encoding = detect_encoding(path)
    if encoding is None:
        message = (
            "无法识别文件编码：既不是 UTF-8，也不是 GBK/GB18030；"
            "请在 Excel 中另存为“CSV UTF-8（逗号分隔）”"
        )
        return RosterResult([], [Problem(source, "", message)], set())
    checker = Checker(source, "", campaign, known_villages, letters=False)
    with open_csv(path, encoding) as fh:
        reader = CsvRows(fh)

        def consume() -> None:
            while True:
                try:
                    checker.consume(reader)
                    return
                except csv.Error as exc:
                    # The reader resumes with the next record: one bad record, one row lost.
                    checker.line += 1
                    detail = (
                        "有单元格内容过长，无法读取"
                        if "field limit" in str(exc)
                        else f"CSV 格式错误（{exc}）"
                    )
                    checker.add(checker.line, ROW_LEVEL, detail)

        try:
            return _check(checker, consume)
        except UnicodeDecodeError:
            # Only if the file changed after its encoding was checked.
            checker.note(checker.line, "", "文件在读取过程中被修改，请重新上传")
            return checker.result(keep_rows=False)


def _check(checker: Checker, consume: Callable[[], None]) -> RosterResult:
    try:
        consume()
        return checker.finish()
    except Stop as stop:
        if stop.args:
            return RosterResult([], [Problem(checker.source, "", str(stop.args[0]))], set())
        return checker.result(keep_rows=False)


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        # A mobile typed as a number arrives as 13800138000.0 or from "1.38E10"; both
        # must come back as the digits, never as "1.38e+10".
        if value.is_integer():
            return str(int(value))
        return repr(value)
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date | time):
        return value.isoformat()
    return str(value)


def _xlsx_rows(rows: Iterator[tuple[Any, ...]]) -> Iterator[list[str]]:
    for values in guarded_rows(rows):
        yield [v if type(v) is str else _cell_text(v) for v in values]


def _read_xlsx(
    path: Path, source: str, campaign: Campaign, known_villages: Collection[str]
) -> RosterResult:
    problem = workbook_problem(path)
    if problem is not None:
        return RosterResult([], [Problem(source, "", problem)], set())
    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    # openpyxl lets zipfile, XML, KeyError and its own errors through unwrapped; to the
    # operator they all mean the same thing.
    except Exception:
        return RosterResult(
            [],
            [Problem(source, "", "无法打开 Excel 文件：文件已损坏或不是 .xlsx 格式")],
            set(),
        )
    try:
        if not book.worksheets:
            return RosterResult([], [Problem(source, "", "Excel 文件中没有工作表")], set())
        sheet = book.worksheets[0]
        checker = Checker(source, f"工作表 {sheet.title} ", campaign, known_villages, letters=True)
        # Declared dimensions may be wrong and a cell at column XFD would pad every row to
        # 16,384 values: only the first MAX_COLUMNS columns are read.
        sheet.reset_dimensions()
        rows = sheet.iter_rows(max_col=MAX_COLUMNS, values_only=True)
        try:
            return _check(checker, lambda: checker.consume(_xlsx_rows(rows)))
        except Unreadable:
            line = checker.line + 1
            checker.note(line, checker.where(line), "Excel 文件内容损坏，从本行起无法读取")
            return checker.result(keep_rows=False)
    finally:
        book.close()

"""Reading a roster file — text (.csv, .txt) or a workbook (.xlsx, .xls, .ods) — into the
checker one row of text at a time."""

from __future__ import annotations

import csv
import gc
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from pingan.adapters.intake.roster.checker import Checker, Stop
from pingan.adapters.intake.roster.columns import ROW_LEVEL
from pingan.adapters.intake.roster.rules import quote
from pingan.adapters.intake.tabular import (
    MAX_COLUMNS,
    TEXT_SUFFIXES,
    CsvRows,
    Refused,
    Unreadable,
    delimiter,
    detect_encoding,
    open_csv,
    preflight,
)
from pingan.adapters.intake.workbook import BookRefused, open_book
from pingan.core.campaign import Campaign
from pingan.core.problems import Problem
from pingan.core.roster import RosterResult


def read_roster(
    path: Path, campaign: Campaign, *, known_villages: Collection[str] = ()
) -> RosterResult:
    """Read a roster file and check every row; never raises on bad content.

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
            if suffix in TEXT_SUFFIXES:
                return _read_csv(path, source, campaign, known_villages)
            return _read_book(path, source, campaign, known_villages)
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
        reader = CsvRows(fh, delimiter(path, encoding))

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


_BLANK = frozenset({None, ""})


def _text_rows(rows: Iterator[Sequence[Any]]) -> Iterator[list[str]]:
    blank: object = None
    for values in rows:
        # A sheet claiming a far-off row is a million blank rows, which openpyxl gives as
        # one tuple over and over: each is settled by identity or a set test in C, not by
        # a look at each of its cells.
        if values is blank:
            yield []
        elif _BLANK.issuperset(values):
            blank = values
            yield []
        else:
            yield [v if type(v) is str else _cell_text(v) for v in values]


def _read_book(
    path: Path, source: str, campaign: Campaign, known_villages: Collection[str]
) -> RosterResult:
    try:
        with open_book(path) as book:
            if not book.titles:
                return RosterResult([], [Problem(source, "", "工作簿中没有工作表")], set())
            title = book.titles[0]
            checker = Checker(source, f"工作表 {title} ", campaign, known_villages, letters=True)
            try:
                # Only the first MAX_COLUMNS columns are read, whatever the sheet spans.
                rows = book.rows(0, MAX_COLUMNS)
                return _check(checker, lambda: checker.consume(_text_rows(rows)))
            except Unreadable:
                line = checker.line + 1
                checker.note(line, checker.where(line), "文件内容损坏，从本行起无法读取")
                return checker.result(keep_rows=False)
    except BookRefused as refused:
        return RosterResult([], [Problem(source, "", refused.message)], set())

"""The roster check: every problem in a roster, collected a chunk of rows at a time."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Collection, Iterable
from itertools import compress
from operator import attrgetter, itemgetter
from typing import Any, Final

from openpyxl.utils import get_column_letter

from pingan.adapters.intake.roster.codes import Codes
from pingan.adapters.intake.roster.columns import (
    CATEGORY,
    CODE,
    COLUMN_LIST,
    COLUMNS,
    DOMAIN,
    LABELS,
    REQUIRED,
    ROW_LEVEL,
    TYPE,
    VILLAGE,
    read_header,
)
from pingan.adapters.intake.roster.placement import Placement
from pingan.adapters.intake.roster.rules import CELL, RULE, RULES, quote
from pingan.adapters.intake.roster.screen import screen
from pingan.core.campaign import Campaign
from pingan.core.problems import Problem
from pingan.core.roster import Kind, RosterResult, RosterRow

MAX_DATA_ROWS: Final = 2_000_000
# A file of blank lines costs time without adding data rows, so physical rows are capped too.
MAX_TOTAL_ROWS: Final = 2 * MAX_DATA_ROWS
# Rows screened together: enough that the per-chunk overhead vanishes, few enough that a
# chunk's cells stay in the CPU cache.
_CHUNK_ROWS = 512
# Tests turn this off to check the columnar screen against the row-by-row check.
_FAST_PATH = True


class Stop(Exception):
    """The file cannot be checked row by row (bad header, too many rows)."""


class Checker:
    """Collects every problem in a roster, a chunk of rows at a time.

    Each chunk is first screened column by column (screen.py); rows that pass become
    RosterRows in bulk, and only the rest go through row(), which checks one row in full
    and words the problems. Both read the rules of rules.py.
    """

    def __init__(
        self,
        source: str,
        prefix: str,
        campaign: Campaign,
        known_villages: Collection[str],
        *,
        letters: bool,
    ) -> None:
        self.source = source
        self.prefix = prefix
        self.letters = letters
        self.places = Placement(campaign)
        self.problems: list[tuple[int, int, Problem]] = []
        self.warnings: list[Problem] = []
        self.invalid: set[int] = set()
        self.rows: list[RosterRow] = []  # from the screen, in line order
        self.codes = Codes(campaign, known_villages, self.rows)
        self.slow_rows: list[RosterRow] = []  # from row()
        self.slow_codes: dict[int, str] = {}  # code of every line row() checked

        self.line = 0
        self.data_rows = 0
        self.header_line = 0
        self.width = -1
        self.index: list[int] | None = None
        self.unnamed: list[int] = []
        self.stray_reported: set[int] = set()
        self.buffer_lines: list[int] = []
        self.buffer: list[list[str]] = []
        self.fast = _FAST_PATH

    # -- reporting -------------------------------------------------------------------------

    def where(self, line: int, column: int = ROW_LEVEL) -> str:
        base = f"{self.prefix}第 {line} 行"
        return base if column == ROW_LEVEL else f"{base} {LABELS[column]}"

    def column_name(self, index: int) -> str:
        return f"{get_column_letter(index + 1)} 列" if self.letters else f"第 {index + 1} 列"

    def add(self, line: int, column: int, message: str) -> None:
        self.problems.append(
            (line, column, Problem(self.source, self.where(line, column), message))
        )
        self.invalid.add(line)

    def note(self, line: int, where: str, message: str) -> None:
        """A problem with the sheet's layout that does not make any one row invalid."""
        self.problems.append((line, ROW_LEVEL, Problem(self.source, where, message)))

    # -- reading ---------------------------------------------------------------------------

    def consume(self, rows: Iterable[list[str]]) -> None:
        line = self.line
        buffer = self.buffer
        buffer_lines = self.buffer_lines
        try:
            for cells in rows:
                line += 1
                if line > MAX_TOTAL_ROWS:
                    raise Stop(f"名册行数（含空行）超过上限 {MAX_TOTAL_ROWS:,} 行")
                if not any(cells):
                    continue
                if self.index is None:
                    self.header(line, cells)
                    continue
                buffer.append(cells)
                buffer_lines.append(line)
                if len(buffer) >= _CHUNK_ROWS:
                    self.line = line
                    self.flush()
        finally:
            self.line = line

    def header(self, line: int, cells: list[str]) -> None:
        header = read_header(cells)
        self.unnamed = header.unnamed
        self.header_line = line
        missing = header.missing(REQUIRED)
        if len(missing) == len(REQUIRED):
            # Most likely the sheet has no header row at all (a village row may still
            # match a header by chance: 村社区); one problem says so better than one
            # "unknown column" per cell of the first data row.
            self.note(
                line,
                self.where(line),
                f"未找到表头：第一行应为列名（至少包括 编码、名称、类型），可用列名：{COLUMN_LIST}",
            )
            raise Stop
        if header.unknown:
            names = "、".join(f"{quote(t)}（{self.column_name(i)}）" for i, t in header.unknown)
            self.warnings.append(
                Problem(
                    self.source,
                    self.where(line),
                    f"已忽略名册以外的列 {names}；名册的列为：{COLUMN_LIST}",
                )
            )
        for i, text, first in header.duplicated:
            self.note(
                line,
                f"{self.where(line)} {self.column_name(i)}",
                f"列名 {quote(text)} 与{self.column_name(first)}（{cells[first].strip()}）"
                "是同一列，请删除其中一列",
            )
        for c in missing:
            en, zh, _ = COLUMNS[c]
            self.note(line, self.where(line), f"缺少必填列“{zh}”（或英文列名 {en}）")
        if missing:
            raise Stop
        self.width = len(cells)
        self.index = header.index

    def stray(self, line: int, cells: list[str], columns: Iterable[int]) -> None:
        for i in columns:
            if i not in self.stray_reported and cells[i].strip():
                self.stray_reported.add(i)
                self.note(
                    line,
                    f"{self.where(line)} {self.column_name(i)}",
                    "该列没有列名，内容不会被读取；请补上列名或删除该列内容",
                )

    def flush(self) -> None:
        if not self.buffer or self.index is None:
            return
        lines = self.buffer_lines[:]
        rows = self.buffer[:]
        self.buffer_lines.clear()
        self.buffer.clear()
        lines, cols = self.columns(lines, rows)
        n = len(lines)
        if not n:
            return
        self.data_rows += n
        if self.data_rows > MAX_DATA_ROWS:
            raise Stop(f"名册数据行超过上限（最多 {MAX_DATA_ROWS:,} 行）")
        slow: Iterable[int] = range(n)
        if self.fast:
            screened = screen(lines, cols, self.codes, self.places)
            self.rows.extend(screened.rows)
            slow = screened.slow
        for k in slow:
            self.row(lines[k], [col[k] for col in cols])

    def columns(self, lines: list[int], rows: list[list[str]]) -> tuple[list[int], list[list[str]]]:
        """A chunk's stripped values, one list per column, without rows of blanks."""
        assert self.index is not None
        width = self.width
        if min(map(len, rows)) != width or max(map(len, rows)) != width:
            for line, cells in zip(lines, rows, strict=True):
                if len(cells) > width:
                    self.stray(line, cells, range(width, len(cells)))
                elif len(cells) < width:
                    cells.extend([""] * (width - len(cells)))
        for i in self.unnamed:
            if i not in self.stray_reported and any(map(str.strip, map(itemgetter(i), rows))):
                for line, cells in zip(lines, rows, strict=True):
                    self.stray(line, cells, (i,))
        n = len(rows)
        cols = [
            list(map(str.strip, map(itemgetter(i), rows))) if i >= 0 else [""] * n
            for i in self.index
        ]
        if not all(cols[CODE]):
            # Rows of nothing but spaces look like data until stripped.
            keep = [any(col[k] for col in cols) or any(map(str.strip, rows[k])) for k in range(n)]
            if not all(keep):
                lines = list(compress(lines, keep))
                cols = [list(compress(col, keep)) for col in cols]
        return lines, cols

    # -- one row ---------------------------------------------------------------------------

    def row(self, line: int, vals: list[str]) -> None:
        """Check one row in full and report every problem in it."""
        skip: Collection[int] = ()
        if not CELL.all_ok(vals):
            skip = self.huge(line, vals)
        self.slow_codes[line] = vals[CODE]
        good = {
            rule.column: self.follows(line, rule.column, vals[rule.column], skip) for rule in RULES
        }
        kind: Kind | None = RULE[TYPE].value(vals[TYPE]) if good[TYPE] else None
        village = vals[VILLAGE]
        domain_key, problems = self.places.check(kind, vals[DOMAIN], village, vals[CATEGORY], skip)
        for column, message in problems:
            self.add(line, column, message)
        if kind == "cell" and village:
            self.codes.pending(line, village)
        if good[CODE]:
            for message in self.codes.check(line, vals[CODE], kind):
                self.add(line, CODE, message)
        if kind is not None and line not in self.invalid:
            cell = kind == "cell"
            values: list[Any] = [
                RULE[c].value(v) if c in RULE else None for c, v in enumerate(vals)
            ]
            values[TYPE], values[DOMAIN] = kind, domain_key
            if cell:
                values[VILLAGE], values[CATEGORY] = village, vals[CATEGORY] or None
            self.slow_rows.append(RosterRow(line, *values))

    def follows(self, line: int, column: int, value: str, skip: Collection[int]) -> bool:
        """Whether a value is given and follows its column's rule; reports it if not."""
        rule = RULE[column]
        if not value:
            if rule.missing is not None and column not in skip:
                self.add(line, column, rule.missing)
            return False
        problem = rule.problem(value)
        if problem is not None:
            self.add(line, column, problem)
        return problem is None

    def huge(self, line: int, vals: list[str]) -> set[int]:
        skip: set[int] = set()
        for column, value in enumerate(vals):
            if not CELL.ok(value):
                # No echo: the value may be a pasted secret, and 40 characters of a
                # 5,000-character paste tell the operator nothing the length does not.
                self.add(line, column, CELL.message(value))
                vals[column] = ""
                skip.add(column)
        return skip

    # -- cross-row checks ------------------------------------------------------------------

    def finish(self) -> RosterResult:
        self.flush()
        if self.index is None:
            self.note(0, "", "名册为空：没有表头行")
        elif self.data_rows == 0:
            self.note(self.header_line, "", "名册中没有数据行")
        for line, message in self.codes.unresolved(self.invalid):
            self.add(line, VILLAGE, message)
        return self.result()

    def result(self, *, keep_rows: bool = True) -> RosterResult:
        self.problems.sort(key=itemgetter(0, 1))
        invalid = self.invalid
        rows: list[RosterRow] = []
        if keep_rows:
            rows = self.rows
            if self.slow_rows:
                rows = sorted(self.rows + self.slow_rows, key=attrgetter("line"))
            if invalid:
                rows = [r for r in rows if r.line not in invalid]
        return RosterResult(
            rows,
            [p for _, _, p in self.problems],
            set(invalid),
            self.invalid_codes(),
            self.warnings,
        )

    def invalid_codes(self) -> set[str]:
        codes: set[str] = set()
        for line in self.invalid:
            code = self.slow_codes.get(line)
            if code is None:
                # A screened row that finish() rejected for its village, or a CSV record
                # too broken to read (no code at all).
                i = bisect_left(self.rows, line, key=attrgetter("line"))
                if i == len(self.rows) or self.rows[i].line != line:
                    continue
                code = self.rows[i].code
            if RULE[CODE].accepts(code):
                codes.add(code)
        return codes

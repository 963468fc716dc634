"""One filled row of a score sheet: checked against the roster, the rubric and the window."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date
from typing import Any, Final, cast

from pingan.adapters.intake.scores.columns import (
    ASSESSOR,
    CODE,
    DATE,
    NOTE,
    Column,
    Layout,
    Spec,
)
from pingan.adapters.intake.scores.values import filled, number, parse_date, q, text, veto
from pingan.core.campaign import Campaign, Domain
from pingan.core.problems import Problem
from pingan.core.scores import CellRef, ScoreRow
from pingan.core.scoring import ScoreSheet, check_sheet

MAX_CELL_CHARS: Final = 1000
MAX_ASSESSOR_CHARS: Final = 200  # size of assessment.assessor

_Add = Callable[[Column, str], None]


class RowReader:
    """Reads rows one at a time; keeps every problem, and the rows that have none."""

    def __init__(
        self,
        source: str,
        campaign: Campaign,
        cells: Mapping[str, CellRef],
        today: date,
        window: tuple[date, date],
    ) -> None:
        self.source = source
        self.campaign = campaign
        self.cells = cells
        # Codes are matched case-insensitively as a fallback, as the roster keeps them
        # unique that way (inbox folders on Windows shares merge "ABC" and "abc").
        self.folded = {code.lower(): ref for code, ref in cells.items()}
        self.today = today
        self.window = window
        self.specs = {d.key: Spec(d) for d in campaign.domains}
        self.problems: list[Problem] = []
        self.warnings: list[Problem] = []
        self.rows: list[ScoreRow] = []
        self.first: dict[str, str] = {}  # cell code → where its first filled row is

    def add(self, where: str, message: str) -> None:
        self.problems.append(Problem(self.source, where, message))

    def domain_name(self, key: str) -> str:
        spec = self.specs.get(key)
        return spec.domain.name if spec else key

    def row(
        self, prefix: str, line: int, row: Sequence[Any], layout: Layout, *, sheet: bool
    ) -> None:
        domain = layout.spec.domain
        where = f"{prefix}第 {line} 行"
        before = len(self.problems)

        def add(column: Column, message: str) -> None:
            self.add(f"{where} {column.label}", message)

        ref = self.cell(where, text(row[layout.at(CODE)]), domain, sheet=sheet, add=add)
        own: set[str] = set()  # columns with a problem of their own; check_sheet repeats it
        criteria = _numbers(row, layout.criteria, "得分应为数字", own, add)
        counts = _numbers(row, layout.deductions, "发生次数应为不小于 0 的整数", own, add)
        vetoes: set[str] = set()
        for column, i in layout.vetoes:
            flag = veto(row[i])
            if flag is None:
                add(column, f"应填“是”或“否”（当前值：{q(row[i])}；不填视为“否”）")
            elif flag:
                vetoes.add(column.key)
        # check_sheet must see a count as entered: it is what rejects 1.5 occurrences.
        entered = ScoreSheet(criteria, cast("Mapping[str, int]", counts), frozenset(vetoes))
        self.check(where, layout.spec, entered, own, add)
        assessed_on = self.assessed_on(row[layout.at(DATE)], add)
        assessor = _limited(row, layout, ASSESSOR, MAX_ASSESSOR_CHARS, add)
        note = _limited(row, layout, NOTE, MAX_CELL_CHARS, add)

        if len(self.problems) == before and ref is not None and assessed_on is not None:
            counts_out = {k: int(n) for k, n in counts.items() if n}
            self.rows.append(
                ScoreRow(
                    cell=ref.code,
                    domain=domain.key,
                    sheet=ScoreSheet(criteria, counts_out, frozenset(vetoes)),
                    assessor=assessor,
                    assessed_on=assessed_on,
                    note=note,
                    where=where,
                )
            )

    def cell(
        self, where: str, code: str, domain: Domain, *, sheet: bool, add: _Add
    ) -> CellRef | None:
        """The roster's cell for `code`, which must be of this domain and not seen before."""
        if not code:
            add(CODE, "缺少单位编码")
            return None
        ref = self.cells.get(code) or self.folded.get(code.lower())
        if ref is None:
            add(CODE, f"单位编码 {q(code)} 不在创建单位名册中，请核对")
            return None
        if ref.domain != domain.key:
            context = f"本工作表（{domain.name}）" if sheet else f"本行所填领域（{domain.name}）"
            add(
                CODE,
                f"单位 {ref.code}（{ref.name}）属于{self.domain_name(ref.domain)}，"
                f"不能填入{context}",
            )
        first = self.first.get(ref.code)
        if first is None:
            self.first[ref.code] = where
        else:
            add(CODE, f"单位 {ref.code} 的评分重复：{first}已填写该单位的评分")
        return ref

    def check(self, where: str, spec: Spec, entered: ScoreSheet, own: set[str], add: _Add) -> None:
        """check_sheet's problems, each filed under its column unless that has one already."""
        for message in check_sheet(spec.domain.rubric, entered):
            target = spec.column_of(message)
            if target is None:
                self.add(where, message)
            elif target.id not in own:
                add(target, message)

    def assessed_on(self, value: Any, add: _Add) -> date | None:
        """The assessment date, which must fall in the window and not after today."""
        if not filled(value):
            add(DATE, "缺少考核日期")
            return None
        parsed = parse_date(value)
        if isinstance(parsed, str):
            add(DATE, parsed)
            return None
        start, end = self.window
        if not start <= parsed <= end:
            add(
                DATE,
                f"考核日期 {parsed.isoformat()} 不在考核验收期"
                f"（{start.isoformat()} 至 {end.isoformat()}）内",
            )
        if parsed > self.today:
            add(DATE, f"考核日期 {parsed.isoformat()} 晚于今天（{self.today.isoformat()}）")
        return parsed


def _numbers(
    row: Sequence[Any],
    positions: Sequence[tuple[Column, int]],
    expected: str,
    own: set[str],
    add: _Add,
) -> dict[str, float]:
    """The filled numbers of these columns by rubric key; a column holding anything else
    gets a problem of its own."""
    out: dict[str, float] = {}
    for column, i in positions:
        value = row[i]
        if not filled(value):
            continue
        n = number(value)
        if n is None:
            own.add(column.id)
            add(column, f"{expected}（当前值：{q(value)}）")
        else:
            out[column.key] = n
    return out


def _limited(
    row: Sequence[Any], layout: Layout, column: Column, limit: int, add: _Add
) -> str | None:
    at = layout.at(column)
    if at < 0:
        return None
    value = text(row[at])
    if len(value) > limit:
        # No echo: a 5,000-character paste says nothing its length does not.
        add(column, f"内容过长（{len(value)} 个字符，上限 {limit} 个）")
        return None
    return value or None

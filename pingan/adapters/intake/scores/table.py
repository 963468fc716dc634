"""One table of a score sheet — a workbook sheet, or the whole CSV: its header row, the
columns it names for each domain, and the rows under it."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Final

from openpyxl.utils import get_column_letter

from pingan.adapters.intake.scores.columns import (
    CODE_HEADERS,
    DOMAIN,
    Layout,
    Spec,
    norm,
    sheet_titles,
)
from pingan.adapters.intake.scores.row import RowReader
from pingan.adapters.intake.scores.values import filled, picker, q, row_filled, text
from pingan.core.campaign import Campaign
from pingan.core.problems import Problem
from pingan.core.scores import CellRef, ScoreRow

# Excel's own row limit; a CSV longer than any workbook is not a score sheet.
MAX_ROWS: Final = 1_048_576
# Title rows a team may add above the header before the reader gives up looking for it.
_HEADER_SEARCH_ROWS = 10


@dataclass
class ImportResult:
    rows: list[ScoreRow]  # empty whenever problems is not
    problems: list[Problem]
    # Columns read past (序号, 自评得分 …): told to the operator, never a reason to refuse.
    warnings: list[Problem] = field(default_factory=list)


@dataclass(frozen=True)
class Broken:
    """A CSV record the csv module could not parse; it still takes up one row number."""

    message: str


Record = Sequence[Any] | Broken
_Numbered = tuple[int, Record]


class Stop(Exception):
    """The table cannot be read further (too many rows)."""


@dataclass
class _Table:
    """One table whose header has been read: where each domain's columns are."""

    prefix: str
    domain: str | None  # the sheet's domain; None for a CSV, whose rows name theirs
    header_line: int
    texts: list[str]
    layouts: dict[str, Layout]
    reported_stray: set[int] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.width = len(self.texts)
        self.stray = [i for i, t in enumerate(self.texts) if not t]
        self.stray_of = picker(self.stray)
        self.domain_at = -1 if self.domain else next(iter(self.layouts.values())).at(DOMAIN)

    def where_col(self, line: int, i: int) -> str:
        name = f"{get_column_letter(i + 1)} 列" if self.domain is not None else f"第 {i + 1} 列"
        return f"{self.prefix}第 {line} 行 {name}"


class Import(RowReader):
    """Reads the tables of one file; rows come back only if no table has a problem."""

    def __init__(
        self,
        source: str,
        campaign: Campaign,
        cells: Mapping[str, CellRef],
        today: date,
        window: tuple[date, date],
    ) -> None:
        super().__init__(source, campaign, cells, today, window)
        self.titles = sheet_titles(campaign)
        self.domain_names: dict[str, str] = {}
        for d in campaign.domains:
            for alias in (d.key, d.name, self.titles[d.key]):
                self.domain_names.setdefault(norm(alias), d.key)
        self.domain_choices = "、".join(f"{d.key}（{d.name}）" for d in campaign.domains)
        self.content = False
        self.line = 0

    def result(self) -> ImportResult:
        if not self.content and not self.problems:
            self.add("", "文件中没有内容")
        return ImportResult([] if self.problems else self.rows, self.problems, self.warnings)

    def table(self, prefix: str, rows: Iterable[Record], domain: str | None) -> None:
        """Read one table; `domain` is the sheet's domain, None for a CSV's 领域 column."""
        specs = [self.specs[domain]] if domain else list(self.specs.values())
        self.line = 0
        numbered = self.numbered(rows)
        found = self.find_header(prefix, numbered)
        if found is None:
            return
        header_line, header = found
        texts, lines, pending = self.key_row(header, header_line, numbered, specs)
        layouts = self.header(prefix, texts, lines, specs, letters=domain is not None)
        if layouts is None:
            return
        t = _Table(prefix, domain, header_line, texts, layouts)
        if domain:
            missing = layouts[domain].missing
            for column in missing:
                self.add(
                    f"{prefix}第 {header_line} 行",
                    f"缺少列“{column.header}”（{column.id}）；请使用系统导出的评分表模板",
                )
            if missing:
                return
        for line, row in numbered if pending is None else _chain(pending, numbered):
            if isinstance(row, Broken):
                self.add(f"{prefix}第 {line} 行", row.message)
            else:
                self.body_row(t, line, row)

    def numbered(self, rows: Iterable[Record]) -> Iterator[_Numbered]:
        for row in rows:
            self.line += 1
            if self.line > MAX_ROWS:
                raise Stop(f"行数超过上限（最多 {MAX_ROWS:,} 行）")
            yield self.line, row

    def find_header(
        self, prefix: str, numbered: Iterator[_Numbered]
    ) -> tuple[int, Sequence[Any]] | None:
        """The header row: the first filled row naming 单位编码, among the first few."""
        looked = 0
        for line, row in numbered:
            if isinstance(row, Broken) or not row_filled(row):
                continue
            self.content = True
            looked += 1
            if any(norm(text(v)) in CODE_HEADERS for v in row):
                return line, row
            if looked >= _HEADER_SEARCH_ROWS:
                break
        if looked:
            self.add(
                prefix.strip(),
                "未找到表头：应有一行列名，其中包括“单位编码”；请使用系统导出的评分表模板",
            )
        return None

    def key_row(
        self,
        header: Sequence[Any],
        header_line: int,
        numbered: Iterator[_Numbered],
        specs: list[Spec],
    ) -> tuple[list[str], list[int], _Numbered | None]:
        """Column names and their rows, and the row after the header unless it held keys."""
        texts = [text(v) for v in header]
        lines = [header_line] * len(texts)
        pending: _Numbered | None = next(numbered, None)
        key_line, key_row = pending or (0, Broken(""))
        if isinstance(key_row, Broken) or not self.is_key_row(key_row, specs):
            return texts, lines, pending
        # Keys win over the Chinese header; a column a team inserted has no key, so its
        # Chinese header is used instead.
        for i, v in enumerate(key_row):
            key = text(v)
            if not key:
                continue
            if i >= len(texts):
                texts += [""] * (i + 1 - len(texts))
                lines += [key_line] * (i + 1 - len(lines))
            texts[i], lines[i] = key, key_line
        return texts, lines, None

    def is_key_row(self, row: Sequence[Any], specs: list[Spec]) -> bool:
        ids = {norm(text(v)) for v in row if filled(v)}
        return "code" in ids and all(any(i in s.by_id for s in specs) for i in ids)

    def header(
        self,
        prefix: str,
        texts: list[str],
        lines: list[int],
        specs: list[Spec],
        *,
        letters: bool,
    ) -> dict[str, Layout] | None:
        def where(i: int) -> str:
            name = f"{get_column_letter(i + 1)} 列" if letters else f"第 {i + 1} 列"
            return f"{prefix}第 {lines[i]} 行 {name}"

        normed = [norm(t) for t in texts]
        ids = [[s.aliases.get(n) if n else None for n in normed] for s in specs]
        duplicated: set[int] = set()
        layouts: dict[str, Layout] = {}
        for spec, found in zip(specs, ids, strict=True):
            index = self.index(found, texts, duplicated, where)
            missing = [c for c in spec.required if c.id not in index]
            layouts[spec.domain.key] = Layout(spec, index, missing)
        known = {i for found in ids for i, cid in enumerate(found) if cid is not None}
        unknown = [(i, name) for i, name in enumerate(texts) if name and i not in known]
        if unknown:
            names = "、".join(
                f"{q(name)}（{where(i).removeprefix(prefix)}）" for i, name in unknown
            )
            self.warnings.append(
                Problem(
                    self.source,
                    prefix.strip(),
                    f"已忽略评分表以外的列 {names}；这些列的内容不会导入",
                )
            )
        if len(specs) > 1:
            if all(layout.at(DOMAIN) < 0 for layout in layouts.values()):
                self.add(
                    f"{prefix}第 {lines[0] if lines else 1} 行",
                    "缺少列“领域”（domain）：CSV 文件须用该列注明每行所属领域",
                )
                return None
            for layout in layouts.values():
                own = set(layout.index.values())
                layout.foreign = [i for i in sorted(known) if i not in own and i not in duplicated]
        return layouts

    def index(
        self,
        found: list[str | None],
        texts: list[str],
        duplicated: set[int],
        where: Callable[[int], str],
    ) -> dict[str, int]:
        """Column id → position; a second column of an id is reported once, in `duplicated`."""
        index: dict[str, int] = {}
        for i, cid in enumerate(found):
            if cid is None:
                continue
            if cid in index:
                if i not in duplicated:
                    duplicated.add(i)
                    first = index[cid]
                    self.add(
                        where(i),
                        f"列名 {q(texts[i])} 与 {q(texts[first])} 是同一列，请删除其中一列",
                    )
                continue
            index[cid] = i
        return index

    # -- the rows under the header ----------------------------------------------------

    def body_row(self, t: _Table, line: int, row: Sequence[Any]) -> None:
        row = self.widen(t, line, row)
        if not row_filled(row):
            return
        self.unnamed(t, line, row)
        key = t.domain or self.row_domain(t, line, row)
        if key is None:
            return
        layout = t.layouts[key]
        if layout.missing:
            if not layout.reported:
                layout.reported = True
                for column in layout.missing:
                    self.add(
                        f"{t.prefix}第 {t.header_line} 行",
                        f"缺少{layout.spec.domain.name}的列“{column.header}”（{column.id}）",
                    )
            return
        if layout.blank(row):
            return
        self.row(t.prefix, line, row, layout, sheet=t.domain is not None)
        for i in layout.foreign:
            if filled(row[i]):
                self.add(
                    f"{t.prefix}第 {line} 行 {t.texts[i]}",
                    f"该列不属于{layout.spec.domain.name}的评分细则，本行应留空",
                )

    def widen(self, t: _Table, line: int, row: Sequence[Any]) -> Sequence[Any]:
        """The row padded to the header's width; content beyond it is reported once a column."""
        if len(row) < t.width:
            return [*row, *([None] * (t.width - len(row)))]
        if len(row) > t.width and row_filled(row[t.width :]):
            for i in range(t.width, len(row)):
                if i not in t.reported_stray and filled(row[i]):
                    t.reported_stray.add(i)
                    self.add(t.where_col(line, i), "该列没有列名，内容不会被读取；请删除该列内容")
        return row

    def unnamed(self, t: _Table, line: int, row: Sequence[Any]) -> None:
        """Content in a header column left without a name, reported once a column."""
        for i in t.stray if row_filled(t.stray_of(row)) else ():
            if i not in t.reported_stray and filled(row[i]):
                t.reported_stray.add(i)
                self.add(
                    t.where_col(line, i), "该列没有列名，内容不会被读取；请补上列名或删除该列内容"
                )

    def row_domain(self, t: _Table, line: int, row: Sequence[Any]) -> str | None:
        value = row[t.domain_at]
        where = f"{t.prefix}第 {line} 行 {DOMAIN.label}"
        if not filled(value):
            if all(layout.blank(row) for layout in t.layouts.values()):
                return None
            self.add(where, f"缺少领域（可填：{self.domain_choices}）")
            return None
        key = self.domain_names.get(norm(text(value)))
        if key is None:
            self.add(where, f"未知领域 {q(value)}（可填：{self.domain_choices}）")
        return key


def _chain(first: _Numbered, rest: Iterator[_Numbered]) -> Iterator[_Numbered]:
    yield first
    yield from rest

"""考核验收评分表: the spreadsheet assessment teams fill in, and the reader that imports it.

The template has one sheet per domain and one row per cell; teams fill the rows of the
cells they assessed and leave the rest blank. The reader checks every filled row against
the domain's rubric and the roster, and reports every problem with sheet, row and column.
Rows come back only when there is no problem at all: scores decide awards, so a sheet is
imported whole after it is corrected, never half now and half later.

Pure: the caller passes the cells, today's date and the acceptance window, so nothing
here touches the database or the clock.
"""

from __future__ import annotations

import contextlib
import csv
import math
import os
import re
import unicodedata
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from itertools import islice
from operator import itemgetter
from pathlib import Path
from typing import Any, Final, Literal, cast

import openpyxl
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from pingan.adapters.intake.tabular import detect_encoding, preflight
from pingan.adapters.render.cells import safe_cell
from pingan.core.campaign import Campaign, Domain
from pingan.core.problems import InputError, Problem
from pingan.core.scoring import ScoreSheet, check_sheet

# Excel's own row limit; a CSV longer than any workbook is not a score sheet.
MAX_ROWS: Final = 1_048_576
MAX_CELL_CHARS: Final = 1000
MAX_ASSESSOR_CHARS: Final = 200  # size of assessment.assessor
# Title rows a team may add above the header before the reader gives up looking for it.
_HEADER_SEARCH_ROWS = 10
# Columns read beyond the template's own: enough to catch data typed to the right of the
# table, few enough that a sheet claiming 16,384 columns costs nothing.
_EXTRA_COLUMNS = 32
_FIRST_DATA_ROW = 4  # title, Chinese header, machine keys

Kind = Literal["fixed", "c", "d", "v"]


@dataclass(frozen=True)
class CellRef:
    """A cell (创建单位) as the caller's roster knows it."""

    code: str
    name: str
    domain: str  # domain key
    village: str | None


@dataclass(frozen=True)
class ScoreRow:
    cell: str
    domain: str
    sheet: ScoreSheet
    assessor: str | None
    assessed_on: date
    note: str | None
    where: str  # "工作表 平安校园 第 5 行", or "第 5 行" in a CSV


@dataclass
class ImportResult:
    rows: list[ScoreRow]  # empty whenever problems is not
    problems: list[Problem]


# --- columns -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Column:
    id: str  # machine key, as in the template's hidden third row
    header: str  # Chinese header the template writes
    label: str  # short name used in problem locations
    kind: Kind
    key: str  # rubric key for c/d/v columns
    width: float


_CODE = _Column("code", "单位编码", "单位编码", "fixed", "", 14)
_NAME = _Column("name", "单位名称", "单位名称", "fixed", "", 28)
_VILLAGE = _Column("village", "村（社区）", "村（社区）", "fixed", "", 14)
_ASSESSOR = _Column("assessor", "考核人", "考核人", "fixed", "", 12)
_DATE = _Column("assessed_on", "考核日期", "考核日期", "fixed", "", 13)
_NOTE = _Column("note", "备注", "备注", "fixed", "", 30)
_DOMAIN = _Column("domain", "领域", "领域", "fixed", "", 12)
# Spellings a team is likely to type when it rebuilds a header by hand.
_FIXED_ALIASES: dict[str, tuple[str, ...]] = {
    "code": ("编码", "单位代码"),
    "name": ("名称",),
    "village": ("村社区", "所属村社区", "所属村（社区）"),
    "assessor": ("考核人员", "验收人"),
    "assessed_on": ("验收日期", "日期"),
    "note": ("说明",),
    "domain": ("所属领域", "领域名称"),
}


def _num(x: float) -> str:
    """10.0 → "10", 2.5 → "2.5": headers read as the rubric was written."""
    return f"{round(x, 2):.2f}".rstrip("0").rstrip(".")


def _norm(text: str) -> str:
    # NFKC folds full-width brackets, colons and digits, which WPS and Chinese IMEs type as
    # often as half-width ones; spaces inside a header are never meaningful.
    return "".join(unicodedata.normalize("NFKC", text).split()).lower()


_CODE_HEADERS = frozenset(_norm(a) for a in ("code", _CODE.header, *_FIXED_ALIASES["code"]))


def _columns(domain: Domain) -> list[_Column]:
    r = domain.rubric
    return [
        _CODE,
        _NAME,
        _VILLAGE,
        *(
            _Column(f"c:{c.key}", f"{c.name}（满分 {_num(c.points)}）", c.name, "c", c.key, 14)
            for c in r.criteria
        ),
        *(
            _Column(
                f"d:{d.key}",
                f"{d.name}（次数，每次扣 {_num(d.points_each)} 分，最多 {_num(d.max_points)} 分）",
                d.name,
                "d",
                d.key,
                16,
            )
            for d in r.deductions
        ),
        *(
            _Column(
                f"v:{v.key}", f"一票否决：{v.name}（是/否）", f"一票否决：{v.name}", "v", v.key, 14
            )
            for v in r.vetoes
        ),
        _ASSESSOR,
        _DATE,
        _NOTE,
    ]


# How check_sheet names an item of each kind in its messages.
_CHECK_LABELS = {"c": "评分项", "d": "扣分项"}


class _Spec:
    """One domain's columns and every header spelling that names each of them."""

    def __init__(self, domain: Domain) -> None:
        self.domain = domain
        self.columns = _columns(domain)
        self.by_id = {c.id: c for c in (*self.columns, _DOMAIN)}
        self.required = [c for c in self.columns if c.kind != "fixed"] + [_CODE, _DATE]
        self.aliases: dict[str, str] = {}
        for c in (*self.columns, _DOMAIN):
            for alias in (c.id, c.header, *_FIXED_ALIASES.get(c.id, ())):
                self.aliases[_norm(alias)] = c.id
        # A bare item name is accepted only where it names one column: rubrics are free
        # text, and a guess between two columns would file a score under the wrong item.
        short: dict[str, set[str]] = {}
        for c in self.columns:
            if c.kind == "fixed":
                continue
            names = {c.label} | ({c.label.removeprefix("一票否决：")} if c.kind == "v" else set())
            for name in names:
                short.setdefault(_norm(name), set()).add(c.id)
        for alias, ids in short.items():
            if len(ids) == 1 and alias not in self.aliases:
                self.aliases[alias] = next(iter(ids))
        # check_sheet words each problem with the item's key; this finds the column again.
        self.needles = [
            (f"{_CHECK_LABELS[c.kind]} {c.key}（", c)
            for c in self.columns
            if c.kind in _CHECK_LABELS
        ]

    def column_of(self, message: str) -> _Column | None:
        for needle, column in self.needles:
            if needle in message:
                return column
        return None


_INVALID_TITLE = re.compile(r"[\\/*?:\[\]]")


def _sheet_titles(campaign: Campaign) -> dict[str, str]:
    """Domain key → sheet title: the domain name, within Excel's rules for titles."""
    titles: dict[str, str] = {}
    used: set[str] = set()
    for d in campaign.domains:
        base = title = _INVALID_TITLE.sub("_", d.name)[:31].strip("'") or d.key[:31]
        n = 1
        while title.lower() in used:  # Excel compares sheet titles case-insensitively
            n += 1
            title = f"{base[:27]}_{n}"
        used.add(title.lower())
        titles[d.key] = title
    return titles


def acceptance_window(campaign: Campaign) -> tuple[date, date]:
    """The 考核验收 dates: the "acceptance" phase, else the assessment gate's phase."""
    keys = {p.key for p in campaign.phases}
    if "acceptance" in keys:
        phase = campaign.phase("acceptance")
        return phase.starts_on, phase.ends_on
    gate = next((g for g in campaign.gates if g.evidence == "assessment"), None)
    if gate is not None and gate.phase in keys:
        phase = campaign.phase(gate.phase)
        return phase.starts_on, phase.ends_on
    return campaign.starts_on, campaign.ends_on


# --- template ----------------------------------------------------------------------------

_TITLE_FONT = Font(bold=True, size=14)
_HEADER_FONT = Font(bold=True)
_HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
_HEADER_ALIGN = Alignment(horizontal="center", vertical="center", wrap_text=True)
_KEY_FONT = Font(size=8, color="808080")
_TEXT = "@"
_DATE_FORMAT = "yyyy-mm-dd"


def write_template(
    campaign: Campaign,
    cells: Sequence[CellRef],
    out: Path,
    *,
    domains: Sequence[str] | None = None,
) -> Path:
    """Write the score template for the given active cells; readers never see half a file.

    Raises InputError for an unknown domain in `domains`, ValueError for cells that do not
    fit the campaign (a caller's bug, not the operator's).
    """
    known = {d.key for d in campaign.domains}
    keys = (
        list(dict.fromkeys(domains)) if domains is not None else [d.key for d in campaign.domains]
    )
    problems = [
        Problem("参数", "domains", f"未知领域 {k!r}（可选：{'、'.join(sorted(known))}）")
        for k in keys
        if k not in known
    ]
    if not keys:
        problems.append(Problem("参数", "domains", "至少应选择一个领域"))
    if problems:
        raise InputError(problems)

    by_domain: dict[str, list[CellRef]] = {k: [] for k in known}
    seen: set[str] = set()
    for cell in cells:
        if cell.domain not in known:
            raise ValueError(f"单位 {cell.code} 的领域 {cell.domain!r} 不在活动方案中")
        if cell.code in seen:
            raise ValueError(f"单位编码 {cell.code} 重复")
        seen.add(cell.code)
        by_domain[cell.domain].append(cell)

    titles = _sheet_titles(campaign)
    window = acceptance_window(campaign)
    # Same directory so os.replace is a rename; a reader sees the old file or the new one.
    tmp = out.with_name(f".{out.name}.{uuid.uuid4().hex}.tmp")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        # Opened before the sheets are built: a write-only sheet never saved complains
        # when it is collected.
        with tmp.open("xb") as fh:
            book = openpyxl.Workbook(write_only=True)
            for key in keys:
                members = sorted(by_domain[key], key=lambda c: (c.village or "", c.code))
                _write_sheet(book, campaign, campaign.domain(key), titles[key], members, window)
            book.save(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, out)
    except OSError as exc:
        # A folder that is a file, a read-only place, a full disk: the operator's to fix.
        _discard(tmp)
        reason = exc.strerror or type(exc).__name__
        raise InputError([Problem(str(out), "", f"无法写入评分表：{reason}")]) from None
    except BaseException:
        _discard(tmp)
        raise
    return out


def _discard(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.unlink(missing_ok=True)


def _write_sheet(
    book: Any,
    campaign: Campaign,
    domain: Domain,
    title: str,
    cells: list[CellRef],
    window: tuple[date, date],
) -> None:
    ws = book.create_sheet(title)
    columns = _columns(domain)
    # Write-only sheets take column and row settings only before the first row.
    for i, column in enumerate(columns, 1):
        dim = ws.column_dimensions[get_column_letter(i)]
        dim.width = column.width
        if column is _CODE:
            dim.number_format = _TEXT
        elif column is _DATE:
            dim.number_format = _DATE_FORMAT
    ws.row_dimensions[1].height = 30
    ws.row_dimensions[2].height = 64
    # The key row lets the reader find each column whatever the header now says.
    ws.row_dimensions[3].hidden = True
    ws.freeze_panes = f"{get_column_letter(4)}{_FIRST_DATA_ROW}"

    last = _FIRST_DATA_ROW + max(len(cells), 1) - 1
    for i, column in enumerate(columns, 1):
        dv = _validation(column, domain, window)
        if dv is not None:
            letter = get_column_letter(i)
            dv.add(f"{letter}{_FIRST_DATA_ROW}:{letter}{last}")
            ws.data_validations.append(dv)

    name = campaign.short_name or campaign.name
    heading = _text_cell(ws, f"{name}考核验收评分表（{domain.name}）")
    heading.font = _TITLE_FONT
    ws.append([heading])
    headers = []
    for column in columns:
        cell = _text_cell(ws, column.header)
        cell.font, cell.fill, cell.alignment = _HEADER_FONT, _HEADER_FILL, _HEADER_ALIGN
        headers.append(cell)
    ws.append(headers)
    keys = []
    for column in columns:
        cell = _text_cell(ws, column.id)
        cell.font = _KEY_FONT
        keys.append(cell)
    ws.append(keys)
    for ref in cells:
        # Text format, so a code like 0012 stays 0012 when a team retypes it.
        code = _text_cell(ws, ref.code)
        code.number_format = _TEXT
        village = _text_cell(ws, ref.village) if ref.village else None
        ws.append([code, _text_cell(ws, ref.name), village])


def _text_cell(ws: Any, text: str) -> Any:
    # openpyxl stores any text starting with "=" as a formula; a unit named "=HYPERLINK(…)"
    # in the roster must reach the assessors as the text it is. The text type keeps Excel
    # from evaluating it here, and safe_cell keeps it text in a CSV the team saves from it.
    # The reader finds columns by the hidden key row, whose keys safe_cell leaves alone.
    cell = WriteOnlyCell(ws, value=safe_cell(text))
    cell.data_type = "s"
    return cell


def _validation(column: _Column, domain: Domain, window: tuple[date, date]) -> Any:
    rubric = domain.rubric
    common: dict[str, Any] = {
        "allow_blank": True,
        "showErrorMessage": True,
        "showInputMessage": True,
    }
    if column.kind == "c":
        points = _num(next(c.points for c in rubric.criteria if c.key == column.key))
        return DataValidation(
            type="decimal",
            operator="between",
            formula1="0",
            formula2=points,
            errorTitle="得分无效",
            error=f"请填写 0 至 {points} 之间的分数。",
            **common,
        )
    if column.kind == "d":
        return DataValidation(
            type="whole",
            operator="greaterThanOrEqual",
            formula1="0",
            errorTitle="次数无效",
            error="请填写发生次数（不小于 0 的整数），未发生的可不填。",
            **common,
        )
    if column.kind == "v":
        return DataValidation(
            type="list",
            formula1='"是,否"',
            errorTitle="取值无效",
            error="请选择“是”或“否”，未发生的可不填。",
            **common,
        )
    if column is _DATE:
        start, end = window
        return DataValidation(
            type="date",
            operator="between",
            formula1=f"DATE({start.year},{start.month},{start.day})",
            formula2=f"DATE({end.year},{end.month},{end.day})",
            errorTitle="日期无效",
            error=f"考核日期应在 {start.isoformat()} 至 {end.isoformat()} 之间。",
            **common,
        )
    return None


# --- values ------------------------------------------------------------------------------


def _filled(value: Any) -> bool:
    if value is None:
        return False
    if type(value) is str:
        return not value.isspace() and value != ""
    return True


_BLANK = frozenset({None, ""})


def _row_filled(values: Iterable[Any]) -> bool:
    # Most cells of a sheet are None: a set test in C settles those rows before any
    # Python-level look at each cell. Every value openpyxl or csv returns is hashable.
    return not _BLANK.issuperset(values) and any(map(_filled, values))


def _picker(indices: Sequence[int]) -> Callable[[Sequence[Any]], Sequence[Any]]:
    if len(indices) == 1:
        only = indices[0]
        return lambda row: (row[only],)
    return itemgetter(*indices) if indices else (lambda row: ())


def _text(value: Any) -> str:
    """A cell as text: numbers without a spurious ".0", dates in ISO form."""
    if type(value) is str:
        return value.strip()
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return str(value).strip()


def _q(value: Any) -> str:
    """The value as shown in a message: quoted, cut to 40 characters, invisibles escaped."""
    text = _text(value)
    shown = text if len(text) <= 40 else text[:40] + "…"
    if not shown.isprintable():
        shown = "".join(
            c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in shown
        )
    return f"'{shown}'"


def _fold(text: str) -> str:
    text = text.strip()
    return text if text.isascii() else unicodedata.normalize("NFKC", text).strip()


_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")


def _number(value: Any) -> float | None:
    """The number in a cell, or None when it holds something else."""
    if isinstance(value, bool):
        return None  # TRUE as a score is a typing slip, not 1 point
    if isinstance(value, float):
        return value
    if isinstance(value, int):
        try:
            return float(value)
        except OverflowError:  # an integer too long for a float; check_sheet rejects inf
            return math.copysign(math.inf, value)
    if isinstance(value, str):
        text = _fold(value)
        # Not float() alone: it also takes "nan", "inf", "1e3" and "1_0".
        if _NUMBER.fullmatch(text):
            return float(text)
    return None


_VETO = {
    "是": True,
    "否": False,
    "y": True,
    "n": False,
    "1": True,
    "0": False,
    "true": True,
    "false": False,
}


def _veto(value: Any) -> bool | None:
    """True/False for a veto cell, None when the value is not one of the accepted ones."""
    if type(value) is str and value in _VETO:
        return _VETO[value]  # the template's own 是/否: by far the commonest case
    if not _filled(value):
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return True if value == 1 else False if value == 0 else None
    if isinstance(value, str):
        return _VETO.get(_fold(value).lower())
    return None


_DATE_TEXT = re.compile(
    r"([0-9]{4})\s*[-/.年]\s*([0-9]{1,2})\s*[-/.月]\s*([0-9]{1,2})\s*日?"
    r"(?:[ T][0-9]{1,2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]+)?)?)?"
)
_DATE_FORMS = "2017-11-15、2017/11/15 或 2017年11月15日"


def _date(value: Any) -> date | str:
    """The date in a cell, or the message saying why there is none."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        match = _DATE_TEXT.fullmatch(_fold(value))
        if match:
            try:
                return date(int(match[1]), int(match[2]), int(match[3]))
            except ValueError:
                return f"日期 {_q(value)} 不存在，请核对"
    return f"无法识别的日期 {_q(value)}，应为 {_DATE_FORMS} 格式"


# --- reading -----------------------------------------------------------------------------


class _Unreadable(Exception):
    """openpyxl failed part-way through a sheet."""


@dataclass(frozen=True)
class _Broken:
    """A CSV record the csv module could not parse; it still takes up one row number."""

    message: str


_Numbered = tuple[int, "Sequence[Any] | _Broken"]


class _Stop(Exception):
    """The table cannot be read further (too many rows)."""


@dataclass
class _Layout:
    """Where one domain's columns are in one table."""

    spec: _Spec
    index: dict[str, int]
    missing: list[_Column]
    # Columns of another domain's rubric: a CSV row of this domain must leave them empty.
    foreign: list[int] = field(default_factory=list)
    reported: bool = False

    def __post_init__(self) -> None:
        positions = [(c, self.index[c.id]) for c in self.spec.columns if c.id in self.index]
        self.criteria = [(c, i) for c, i in positions if c.kind == "c"]
        self.deductions = [(c, i) for c, i in positions if c.kind == "d"]
        self.vetoes = [(c, i) for c, i in positions if c.kind == "v"]
        self.criteria_at = [i for _, i in self.criteria]

    def at(self, column: _Column) -> int:
        return self.index.get(column.id, -1)

    def blank(self, row: Sequence[Any]) -> bool:
        """Nothing assessed: no score, and no count or veto other than "did not happen".

        Zero counts and 否 are what a team copies down a whole column before it starts, so
        they do not make a row count as filled in.
        """
        if any(_filled(row[i]) for i in self.criteria_at):
            return False
        for _, i in self.deductions:
            if _filled(row[i]) and _number(row[i]) != 0:
                return False
        return all(_veto(row[i]) is False for _, i in self.vetoes)


class _Import:
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
        self.specs = {d.key: _Spec(d) for d in campaign.domains}
        self.titles = _sheet_titles(campaign)
        self.domain_names: dict[str, str] = {}
        for d in campaign.domains:
            for alias in (d.key, d.name, self.titles[d.key]):
                self.domain_names.setdefault(_norm(alias), d.key)
        self.domain_choices = "、".join(f"{d.key}（{d.name}）" for d in campaign.domains)
        self.problems: list[Problem] = []
        self.rows: list[ScoreRow] = []
        self.first: dict[str, str] = {}  # cell code → where its first filled row is
        self.content = False
        self.line = 0

    def add(self, where: str, message: str) -> None:
        self.problems.append(Problem(self.source, where, message))

    def result(self) -> ImportResult:
        if not self.content and not self.problems:
            self.add("", "文件中没有内容")
        return ImportResult([] if self.problems else self.rows, self.problems)

    def domain_name(self, key: str) -> str:
        spec = self.specs.get(key)
        return spec.domain.name if spec else key

    # -- one table: a sheet, or the whole CSV -------------------------------------------

    def table(
        self, prefix: str, rows: Iterable[Sequence[Any] | _Broken], domain: str | None
    ) -> None:
        """Read one table; `domain` is the sheet's domain, None for a CSV's 领域 column."""
        specs = [self.specs[domain]] if domain else list(self.specs.values())
        letters = domain is not None
        self.line = 0
        numbered = self.numbered(rows)
        header: Sequence[Any] | None = None
        header_line = 0
        looked = 0
        for line, row in numbered:
            if isinstance(row, _Broken) or not _row_filled(row):
                continue
            self.content = True
            looked += 1
            if any(_norm(_text(v)) in _CODE_HEADERS for v in row):
                header, header_line = row, line
                break
            if looked >= _HEADER_SEARCH_ROWS:
                break
        if header is None:
            if looked:
                self.add(
                    prefix.strip(),
                    "未找到表头：应有一行列名，其中包括“单位编码”；请使用系统导出的评分表模板",
                )
            return

        texts = [_text(v) for v in header]
        lines = [header_line] * len(texts)
        pending: _Numbered | None = next(numbered, None)
        key_line, key_row = pending or (0, _Broken(""))
        if not isinstance(key_row, _Broken) and self.is_key_row(key_row, specs):
            # Keys win over the Chinese header; a column a team inserted has no key, so
            # its Chinese header is used instead.
            pending = None
            for i, v in enumerate(key_row):
                text = _text(v)
                if not text:
                    continue
                if i >= len(texts):
                    texts += [""] * (i + 1 - len(texts))
                    lines += [key_line] * (i + 1 - len(lines))
                texts[i], lines[i] = text, key_line

        layouts = self.header(prefix, texts, lines, specs, letters=letters)
        if layouts is None:
            return
        width = len(texts)
        stray = [i for i, t in enumerate(texts) if not t]
        stray_of = _picker(stray)
        reported_stray: set[int] = set()

        def where_col(line: int, i: int) -> str:
            name = f"{get_column_letter(i + 1)} 列" if letters else f"第 {i + 1} 列"
            return f"{prefix}第 {line} 行 {name}"

        if domain:
            layout = layouts[domain]
            for column in layout.missing:
                self.add(
                    f"{prefix}第 {header_line} 行",
                    f"缺少列“{column.header}”（{column.id}）；请使用系统导出的评分表模板",
                )
            if layout.missing:
                return
        domain_at = -1 if domain else next(iter(layouts.values())).at(_DOMAIN)

        rest = numbered if pending is None else _chain(pending, numbered)
        for line, row in rest:
            if isinstance(row, _Broken):
                self.add(f"{prefix}第 {line} 行", row.message)
                continue
            if len(row) < width:
                row = [*row, *([None] * (width - len(row)))]
            elif len(row) > width and _row_filled(row[width:]):
                for i in range(width, len(row)):
                    if i not in reported_stray and _filled(row[i]):
                        reported_stray.add(i)
                        self.add(where_col(line, i), "该列没有列名，内容不会被读取；请删除该列内容")
            if not _row_filled(row):
                continue
            for i in stray if _row_filled(stray_of(row)) else ():
                if i not in reported_stray and _filled(row[i]):
                    reported_stray.add(i)
                    self.add(
                        where_col(line, i), "该列没有列名，内容不会被读取；请补上列名或删除该列内容"
                    )
            if domain:
                key = domain
            else:
                found = self.row_domain(prefix, line, row, domain_at, layouts)
                if found is None:
                    continue
                key = found
            layout = layouts[key]
            if layout.missing:
                if not layout.reported:
                    layout.reported = True
                    for column in layout.missing:
                        self.add(
                            f"{prefix}第 {header_line} 行",
                            f"缺少{layout.spec.domain.name}的列“{column.header}”（{column.id}）",
                        )
                continue
            if layout.blank(row):
                continue
            self.row(prefix, line, row, layout, sheet=domain is not None)
            for i in layout.foreign:
                if _filled(row[i]):
                    self.add(
                        f"{prefix}第 {line} 行 {texts[i]}",
                        f"该列不属于{layout.spec.domain.name}的评分细则，本行应留空",
                    )

    def numbered(
        self, rows: Iterable[Sequence[Any] | _Broken]
    ) -> Iterator[tuple[int, Sequence[Any] | _Broken]]:
        for row in rows:
            self.line += 1
            if self.line > MAX_ROWS:
                raise _Stop(f"行数超过上限（最多 {MAX_ROWS:,} 行）")
            yield self.line, row

    def is_key_row(self, row: Sequence[Any], specs: list[_Spec]) -> bool:
        ids = {_norm(_text(v)) for v in row if _filled(v)}
        return "code" in ids and all(any(i in s.by_id for s in specs) for i in ids)

    def header(
        self,
        prefix: str,
        texts: list[str],
        lines: list[int],
        specs: list[_Spec],
        *,
        letters: bool,
    ) -> dict[str, _Layout] | None:
        def where(i: int) -> str:
            name = f"{get_column_letter(i + 1)} 列" if letters else f"第 {i + 1} 列"
            return f"{prefix}第 {lines[i]} 行 {name}"

        normed = [_norm(t) for t in texts]
        ids = [[s.aliases.get(n) if n else None for n in normed] for s in specs]
        duplicated: set[int] = set()
        layouts: dict[str, _Layout] = {}
        for spec, found in zip(specs, ids, strict=True):
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
                            f"列名 {_q(texts[i])} 与 {_q(texts[first])} 是同一列，请删除其中一列",
                        )
                    continue
                index[cid] = i
            missing = [c for c in spec.required if c.id not in index]
            layouts[spec.domain.key] = _Layout(spec, index, missing)
        for i, text in enumerate(texts):
            if text and all(found[i] is None for found in ids):
                self.add(where(i), f"未知列名 {_q(text)}；请使用系统导出的评分表模板中的列名")
        if len(specs) > 1:
            if all(layout.at(_DOMAIN) < 0 for layout in layouts.values()):
                self.add(
                    f"{prefix}第 {lines[0] if lines else 1} 行",
                    "缺少列“领域”（domain）：CSV 文件须用该列注明每行所属领域",
                )
                return None
            for layout in layouts.values():
                own = set(layout.index.values())
                layout.foreign = [
                    i for i, t in enumerate(texts) if t and i not in own and i not in duplicated
                ]
        return layouts

    def row_domain(
        self,
        prefix: str,
        line: int,
        row: Sequence[Any],
        at: int,
        layouts: dict[str, _Layout],
    ) -> str | None:
        value = row[at]
        where = f"{prefix}第 {line} 行 {_DOMAIN.label}"
        if not _filled(value):
            if all(layout.blank(row) for layout in layouts.values()):
                return None
            self.add(where, f"缺少领域（可填：{self.domain_choices}）")
            return None
        key = self.domain_names.get(_norm(_text(value)))
        if key is None:
            self.add(where, f"未知领域 {_q(value)}（可填：{self.domain_choices}）")
        return key

    # -- one row ------------------------------------------------------------------------

    def row(
        self, prefix: str, line: int, row: Sequence[Any], layout: _Layout, *, sheet: bool
    ) -> None:
        spec = layout.spec
        domain = spec.domain
        where = f"{prefix}第 {line} 行"
        before = len(self.problems)

        def add(column: _Column, message: str) -> None:
            self.add(f"{where} {column.label}", message)

        code = _text(row[layout.at(_CODE)])
        ref: CellRef | None = None
        if not code:
            add(_CODE, "缺少单位编码")
        else:
            ref = self.cells.get(code) or self.folded.get(code.lower())
            if ref is None:
                add(_CODE, f"单位编码 {_q(code)} 不在创建单位名册中，请核对")
            else:
                if ref.domain != domain.key:
                    context = (
                        f"本工作表（{domain.name}）" if sheet else f"本行所填领域（{domain.name}）"
                    )
                    add(
                        _CODE,
                        f"单位 {ref.code}（{ref.name}）属于{self.domain_name(ref.domain)}，"
                        f"不能填入{context}",
                    )
                first = self.first.get(ref.code)
                if first is None:
                    self.first[ref.code] = where
                else:
                    add(_CODE, f"单位 {ref.code} 的评分重复：{first}已填写该单位的评分")

        own: set[str] = set()  # columns with a problem of their own; check_sheet repeats it
        criteria: dict[str, float] = {}
        for column, i in layout.criteria:
            value = row[i]
            if not _filled(value):
                continue
            n = _number(value)
            if n is None:
                own.add(column.id)
                add(column, f"得分应为数字（当前值：{_q(value)}）")
            else:
                criteria[column.key] = n
        counts: dict[str, float] = {}
        for column, i in layout.deductions:
            value = row[i]
            if not _filled(value):
                continue
            n = _number(value)
            if n is None:
                own.add(column.id)
                add(column, f"发生次数应为不小于 0 的整数（当前值：{_q(value)}）")
            else:
                counts[column.key] = n
        vetoes: set[str] = set()
        for column, i in layout.vetoes:
            flag = _veto(row[i])
            if flag is None:
                add(column, f"应填“是”或“否”（当前值：{_q(row[i])}；不填视为“否”）")
            elif flag:
                vetoes.add(column.key)

        # check_sheet must see a count as entered: it is what rejects 1.5 occurrences.
        entered = ScoreSheet(criteria, cast("Mapping[str, int]", counts), frozenset(vetoes))
        for message in check_sheet(domain.rubric, entered):
            target = spec.column_of(message)
            if target is None:
                self.add(where, message)
            elif target.id not in own:
                add(target, message)

        raw_date = row[layout.at(_DATE)]
        assessed_on: date | None = None
        if not _filled(raw_date):
            add(_DATE, "缺少考核日期")
        else:
            parsed = _date(raw_date)
            if isinstance(parsed, str):
                add(_DATE, parsed)
            else:
                assessed_on = parsed
                start, end = self.window
                if not start <= parsed <= end:
                    add(
                        _DATE,
                        f"考核日期 {parsed.isoformat()} 不在考核验收期"
                        f"（{start.isoformat()} 至 {end.isoformat()}）内",
                    )
                if parsed > self.today:
                    add(
                        _DATE, f"考核日期 {parsed.isoformat()} 晚于今天（{self.today.isoformat()}）"
                    )

        assessor = self.text(row, layout, _ASSESSOR, MAX_ASSESSOR_CHARS, add)
        note = self.text(row, layout, _NOTE, MAX_CELL_CHARS, add)

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

    @staticmethod
    def text(
        row: Sequence[Any],
        layout: _Layout,
        column: _Column,
        limit: int,
        add: Callable[[_Column, str], None],
    ) -> str | None:
        at = layout.at(column)
        if at < 0:
            return None
        text = _text(row[at])
        if len(text) > limit:
            # No echo: a 5,000-character paste says nothing its length does not.
            add(column, f"内容过长（{len(text)} 个字符，上限 {limit} 个）")
            return None
        return text or None


def _chain(first: _Numbered, rest: Iterator[_Numbered]) -> Iterator[_Numbered]:
    yield first
    yield from rest


# --- files -------------------------------------------------------------------------------


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
    reader = _Import(source, campaign, cells, today, window)

    def fail(message: str) -> ImportResult:
        return ImportResult([], [Problem(source, "", message)])

    problem = preflight(path, "评分表", _q(path.suffix or "（无扩展名）"))
    if problem is not None:
        return fail(problem)
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            return _read_csv(path, reader)
        return _read_xlsx(path, reader)
    except OSError as exc:
        return fail(f"无法读取文件：{exc.strerror or exc}")
    except _Stop as stop:
        return fail(str(stop))


def _csv_records(reader: Iterator[list[str]]) -> Iterator[Sequence[Any] | _Broken]:
    while True:
        try:
            record = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            # The reader resumes with the next record: one bad record, one row lost.
            yield _Broken(
                "有单元格内容过长，无法读取"
                if "field limit" in str(exc)
                else f"CSV 格式错误（{exc}）"
            )
        else:
            yield record


def _read_csv(path: Path, reader: _Import) -> ImportResult:
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
    with path.open(encoding=encoding, newline="") as fh:
        try:
            reader.table("", _csv_records(csv.reader(fh)), None)
        except UnicodeDecodeError:
            # Only if the file changed after its encoding was checked.
            return ImportResult(
                [], [Problem(reader.source, "", "文件在读取过程中被修改，请重新上传")]
            )
    return reader.result()


def _xlsx_rows(sheet: Any, width: int) -> Iterator[Sequence[Any]]:
    # Dimensions in the file may be wrong (some writers always say A1); they are ignored,
    # and every row is cut to `width` so a cell at column XFD cannot cost 16,384 Nones a row.
    sheet.reset_dimensions()
    rows = sheet.iter_rows(max_col=width, values_only=True)
    while True:
        try:
            values = next(rows)
        except StopIteration:
            return
        # openpyxl lets zipfile, XML, KeyError and ValueError through unwrapped; to the
        # operator they all mean the same thing.
        except Exception as exc:
            raise _Unreadable from exc
        yield values


def _read_xlsx(path: Path, reader: _Import) -> ImportResult:
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
            key = reader.domain_names.get(_norm(title))
            prefix = f"工作表 {title} "
            if key is None:
                try:
                    rows = islice(_xlsx_rows(sheet, widest), MAX_ROWS)
                    used = any(map(_row_filled, rows))
                except _Unreadable:
                    used = True
                # An empty extra sheet (WPS adds Sheet1) is harmless; one with data is not.
                if used:
                    reader.content = True
                    names = "、".join(reader.titles.values())
                    reader.add(
                        f"工作表 {title}",
                        f"工作表名称不是任何创建领域（应为：{names}），其内容不会被读取；"
                        "请改名或删除该工作表",
                    )
                continue
            width = len(reader.specs[key].columns) + _EXTRA_COLUMNS
            try:
                reader.table(prefix, _xlsx_rows(sheet, width), key)
            except _Unreadable:
                line = reader.line + 1
                reader.add(f"{prefix}第 {line} 行", "Excel 文件内容损坏，从本行起无法读取")
    finally:
        book.close()
    return reader.result()

"""The public list of named cells (公示名单) as an A4 PDF and as an XLSX workbook.

Revoked awards are not mixed into the domain tables, and they are not dropped silently either:
they get their own section (PDF) or sheet (XLSX), 已撤销命名, with the reason. The public can
then see that an award was withdrawn and why, and a revoked certificate still in circulation
can be checked against the list.

Entries keep the caller's order inside each domain. Domains appear in the order of their first
entry. Both files are written atomically, and every spreadsheet text cell goes through
safe_cell so a name such as "=HYPERLINK(…)" stays text.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from reportlab.lib.colors import Color, HexColor  # type: ignore[import-untyped]
from reportlab.lib.pagesizes import A4  # type: ignore[import-untyped]
from reportlab.pdfbase import pdfmetrics  # type: ignore[import-untyped]

from pingan.adapters.render.cells import safe_cell
from pingan.adapters.render.certificate import (
    Fitted,
    atomic_output,
    binary_streams,
    fit_text,
    new_canvas,
)
from pingan.adapters.render.fonts import register_reportlab_font

REVOKED_HEADING = "已撤销命名"


@dataclass(frozen=True)
class PublicListEntry:
    """One named cell as published; `domain` is the domain's title (平安校园 …)."""

    domain: str
    number: str
    cell_name: str
    cell_code: str
    village: str | None
    lead_unit: str
    issued_on: date
    revoked: bool = False
    revoked_reason: str | None = None


@dataclass(frozen=True)
class _Section:
    heading: str  # 一、平安校园
    note: str  # （共 12 个，牵头单位：街道教办）
    # Header and the most a column may take (points); 0 = share what the others leave.
    columns: tuple[tuple[str, float], ...]
    rows: tuple[tuple[str, ...], ...]


def _sections(entries: Sequence[PublicListEntry]) -> list[_Section]:
    groups: dict[str, list[PublicListEntry]] = {}
    revoked: list[PublicListEntry] = []
    for e in entries:
        if e.revoked:
            revoked.append(e)
        else:
            groups.setdefault(e.domain, []).append(e)
    sections: list[_Section] = []
    for i, (domain, members) in enumerate(groups.items(), start=1):
        leads = list(dict.fromkeys(e.lead_unit for e in members))
        # One lead unit per domain is the rule; it goes in the heading rather than 90,000 rows.
        per_row_lead = len(leads) > 1
        cols: list[tuple[str, float]] = [("序号", 48), ("命名编号", 170), ("单位名称", 0)]
        cols += [("村（社区）", 90), ("单位编码", 90)]
        if per_row_lead:
            cols.append(("牵头单位", 90))
        cols.append(("命名日期", 70))
        rows = []
        for n, e in enumerate(members, start=1):
            row = [str(n), e.number, e.cell_name, e.village or "—", e.cell_code]
            if per_row_lead:
                row.append(e.lead_unit)
            row.append(e.issued_on.isoformat())
            rows.append(tuple(row))
        note = f"（共 {len(members)} 个" + ("）" if per_row_lead else f"，牵头单位：{leads[0]}）")
        sections.append(_Section(f"{_ordinal(i)}、{domain}", note, tuple(cols), tuple(rows)))
    if revoked:
        cols = [("序号", 48), ("命名编号", 170), ("单位名称", 0), ("领域", 70), ("撤销原因", 0)]
        rows = [
            (str(n), e.number, e.cell_name, e.domain, e.revoked_reason or "—")
            for n, e in enumerate(revoked, start=1)
        ]
        heading = f"{_ordinal(len(sections) + 1)}、{REVOKED_HEADING}"
        note = f"（共 {len(revoked)} 个，原证书作废）"
        sections.append(_Section(heading, note, tuple(cols), tuple(rows)))
    return sections


def _ordinal(n: int) -> str:
    digits = "〇一二三四五六七八九"
    if n < 10:
        return digits[n]
    tens, ones = divmod(n, 10)
    return ("" if tens == 1 else digits[tens]) + "十" + (digits[ones] if ones else "")


# --- PDF -------------------------------------------------------------------------------------

PAGE_WIDTH, PAGE_HEIGHT = (float(v) for v in A4)
_MARGIN_X = 42.0
_TOP = PAGE_HEIGHT - 58.0  # below the running header
_BOTTOM = 52.0  # above the footer
_TABLE_W = PAGE_WIDTH - 2 * _MARGIN_X
_SIZE = 9.0
_LEAD = 12.0
_PAD = 4.0
_HEADER_H = 20.0
_HEAD_SIZE = 9.5
_HEADING_H = 26.0
_MAX_CELL_LINES = 12
_MIN_FLEX = 110.0

RED: Color = HexColor("#B7141E")
INK: Color = HexColor("#1F1F1F")
GREY: Color = HexColor("#6B6B6B")
RULE: Color = HexColor("#9A9A9A")
HEAD_FILL: Color = HexColor("#F3E6E6")


@dataclass(frozen=True)
class _Row:
    cells: tuple[tuple[str, ...], ...]
    height: float


@dataclass
class _Block:
    """One section's rows on one page, under a repeated heading and header row."""

    section: _Section
    widths: tuple[float, ...]
    top: float
    continued: bool
    rows: list[_Row]


@dataclass
class _Page:
    first: bool
    blocks: list[_Block]


def _widths(
    font: Any, columns: tuple[tuple[str, float], ...], measured: list[list[float]]
) -> tuple[float, ...]:
    """Columns as wide as their content (up to a cap); the rest goes to the flexible ones."""
    fitted = []
    for (label, cap), col in zip(columns, measured, strict=True):
        need = max(font.stringWidth(label, _HEAD_SIZE), max(col, default=0.0)) + 2 * _PAD
        fitted.append(0.0 if cap == 0 else min(cap, need))
    flex = [i for i, (_, cap) in enumerate(columns) if cap == 0]
    spare = _TABLE_W - sum(fitted)
    if flex and spare < _MIN_FLEX * len(flex):
        # Shrink the capped columns proportionally: they wrap, the name column stays readable.
        squeeze = (_TABLE_W - _MIN_FLEX * len(flex)) / sum(fitted)
        fitted = [w * squeeze for w in fitted]
        spare = _MIN_FLEX * len(flex)
    if not flex:  # pragma: no cover - every section has a flexible column
        return tuple(fitted)
    return tuple(w if columns[i][1] else spare / len(flex) for i, w in enumerate(fitted))


def _first_page_header(font: str, title: str, subtitle: str) -> tuple[Fitted, Fitted | None]:
    big = fit_text(title, font, _TABLE_W, max_size=18, min_size=10, max_lines=2)
    sub = None
    if subtitle:
        sub = fit_text(subtitle, font, _TABLE_W, max_size=10.5, min_size=7, max_lines=2)
    return big, sub


def _header_height(big: Fitted, sub: Fitted | None) -> float:
    height = 14 + big.size * 1.35 * len(big.lines)
    if sub is not None:
        height += 4 + sub.size * 1.45 * len(sub.lines)
    return height + 6


def _paginate(font_name: str, sections: list[_Section], header_height: float) -> list[_Page]:
    font = pdfmetrics.getFont(font_name)
    pages: list[_Page] = [_Page(first=True, blocks=[])]
    y = _TOP - header_height
    for section in sections:
        rows = section.rows
        # Measure every cell once: the widths decide the columns, then whether a cell wraps.
        measured = [[font.stringWidth(v, _SIZE) for v in row] for row in rows]
        widths = _widths(font, section.columns, [list(c) for c in zip(*measured, strict=True)])
        block: _Block | None = None
        started = False  # later blocks of the section are headed （续）
        for values, sizes in zip(rows, measured, strict=True):
            cells = tuple(
                (v,) if size <= w - 2 * _PAD else _wrapped(font_name, v, w)
                for v, size, w in zip(values, sizes, widths, strict=True)
            )
            height = max(len(c) for c in cells) * _LEAD + 2 * _PAD
            need = height + (0 if block else _HEADING_H + _HEADER_H)
            if y - need < _BOTTOM and y < _TOP:  # never leave a fresh page empty
                pages.append(_Page(first=False, blocks=[]))
                y = _TOP
                block = None
            if block is None:
                block = _Block(section, widths, y, started, [])
                started = True
                pages[-1].blocks.append(block)
                y -= _HEADING_H + _HEADER_H
            block.rows.append(_Row(cells, height))
            y -= height
        y -= 10  # air between sections
    return pages


def _wrapped(font: str, text: str, width: float) -> tuple[str, ...]:
    room = width - 2 * _PAD
    return fit_text(
        text, font, room, max_size=_SIZE, min_size=_SIZE, max_lines=_MAX_CELL_LINES
    ).lines


def _draw_page(
    c: Any, font: str, page: _Page, number: int, total: int, title: str, subtitle: str
) -> None:
    # Running header and footer.
    c.setFillColor(GREY)
    c.setStrokeColor(RULE)
    c.setLineWidth(0.5)
    c.setFont(font, 8)
    head = fit_text(title, font, _TABLE_W * 0.7, max_size=8, min_size=5, max_lines=1)
    c.setFont(font, head.size)
    c.drawString(_MARGIN_X, PAGE_HEIGHT - 34, head.lines[0])
    c.setFont(font, 8)
    c.drawRightString(PAGE_WIDTH - _MARGIN_X, PAGE_HEIGHT - 34, "公示名单")
    c.line(_MARGIN_X, PAGE_HEIGHT - 39, PAGE_WIDTH - _MARGIN_X, PAGE_HEIGHT - 39)
    c.setFont(font, 9)
    c.drawCentredString(PAGE_WIDTH / 2, 30, f"第 {number} 页　共 {total} 页")

    if page.first:
        big, sub = _first_page_header(font, title, subtitle)
        c.setFillColor(RED)
        c.setStrokeColor(RED)
        c.setLineWidth(0.5)
        c.setFont(font, big.size)
        y = _TOP - 14
        for i, line in enumerate(big.lines):
            if i:
                y -= big.size * 1.35
            c.drawCentredString(PAGE_WIDTH / 2, y, line, mode=2)
        if sub is not None:
            c.setFillColor(INK)
            c.setFont(font, sub.size)
            for line in sub.lines:
                y -= sub.size * 1.45 + (4 if line is sub.lines[0] else 0)
                c.drawCentredString(PAGE_WIDTH / 2, y, line)
        if not page.blocks:
            c.setFillColor(INK)
            c.setFont(font, 11)
            c.drawCentredString(PAGE_WIDTH / 2, y - 30, "本期无命名单位。")

    for block in page.blocks:
        _draw_block(c, font, block)


def _draw_block(c: Any, font: str, block: _Block) -> None:
    section = block.section
    x0 = _MARGIN_X
    y = block.top
    colour = RED if section.heading.endswith(REVOKED_HEADING) else INK
    c.setFillColor(colour)
    c.setStrokeColor(colour)
    c.setLineWidth(0.35)
    c.setFont(font, 12)
    heading = section.heading + ("（续）" if block.continued else "")
    c.drawString(x0, y - 16, heading, mode=2)
    c.setFillColor(GREY)
    c.setFont(font, 9)
    c.drawString(x0 + pdfmetrics.stringWidth(heading, font, 12) + 4, y - 16, section.note)
    y -= _HEADING_H

    # Header row, repeated on every page the section spans.
    c.setFillColor(HEAD_FILL)
    c.rect(x0, y - _HEADER_H, _TABLE_W, _HEADER_H, stroke=0, fill=1)
    c.setFillColor(INK)
    c.setStrokeColor(INK)
    c.setFont(font, _HEAD_SIZE)
    x = x0
    for (label, _), w in zip(section.columns, block.widths, strict=True):
        c.drawCentredString(x + w / 2, y - _HEADER_H + 6.5, label, mode=2)
        x += w
    top = y
    y -= _HEADER_H

    # Body: one text object per block (far cheaper than an object per cell).
    text = c.beginText()
    text.setFont(font, _SIZE)
    text.setFillColor(INK)
    rules: list[tuple[float, float, float, float]] = [(x0, top, x0 + _TABLE_W, top)]
    rules.append((x0, y, x0 + _TABLE_W, y))
    for row in block.rows:
        x = x0
        for lines, w in zip(row.cells, block.widths, strict=True):
            ly = y - _PAD - _SIZE + 0.5
            for line in lines:
                text.setTextOrigin(x + _PAD, ly)
                text.textOut(line)
                ly -= _LEAD
            x += w
        y -= row.height
        rules.append((x0, y, x0 + _TABLE_W, y))
    c.drawText(text)
    x = x0
    for w in (0.0, *block.widths):
        x += w
        rules.append((x, top, x, y))
    c.setStrokeColor(RULE)
    c.setLineWidth(0.5)
    c.lines(rules)


def write_public_list_pdf(
    title: str, subtitle: str, entries: Sequence[PublicListEntry], path: Path
) -> int:
    """Write the public list as an A4 PDF; returns the number of pages."""
    font = register_reportlab_font()
    big, sub = _first_page_header(font, title, subtitle)
    pages = _paginate(font, _sections(entries), _header_height(big, sub))
    with atomic_output(path) as fh, binary_streams():
        c = new_canvas(fh, font, (PAGE_WIDTH, PAGE_HEIGHT), title)
        c.setSubject(subtitle)
        for n, page in enumerate(pages, start=1):
            _draw_page(c, font, page, n, len(pages), title, subtitle)
            c.showPage()
        c.save()
    return len(pages)


# --- XLSX ------------------------------------------------------------------------------------

_SHEET_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")
_DOMAIN_COLUMNS = (
    ("序号", 7),
    ("命名编号", 30),
    ("单位名称", 40),
    ("单位编码", 16),
    ("村（社区）", 16),
    ("牵头单位", 20),
    ("命名日期", 12),
)
_REVOKED_COLUMNS = (
    ("序号", 7),
    ("命名编号", 30),
    ("单位名称", 40),
    ("单位编码", 16),
    ("村（社区）", 16),
    ("领域", 12),
    ("命名日期", 12),
    ("撤销原因", 40),
)
_BOLD = Font(bold=True)
_TITLE = Font(bold=True, size=14)
_FILL = PatternFill("solid", fgColor="F3E6E6")
_CENTRE = Alignment(horizontal="center", vertical="center")


def _sheet_title(name: str, taken: set[str]) -> str:
    base = _SHEET_FORBIDDEN.sub("_", name).strip("'") or "领域"
    base = base[:31]
    title, n = base, 2
    while title.lower() in taken:
        suffix = f"({n})"
        title, n = base[: 31 - len(suffix)] + suffix, n + 1
    taken.add(title.lower())
    return title


def _header(ws: Any, columns: Sequence[tuple[str, int]]) -> list[Any]:
    cells = []
    for label, _ in columns:
        cell = WriteOnlyCell(ws, value=label)
        cell.font = _BOLD
        cell.fill = _FILL
        cell.alignment = _CENTRE
        cells.append(cell)
    return cells


def _prepare(ws: Any, columns: Sequence[tuple[str, int]], rows: int, header_row: int) -> None:
    # Write-only sheets take widths, panes and filters before the first row is appended.
    for i, (_, width) in enumerate(columns, start=1):
        ws.column_dimensions[get_column_letter(i)].width = width
    ws.freeze_panes = f"A{header_row + 1}"
    last = get_column_letter(len(columns))
    ws.auto_filter.ref = f"A{header_row}:{last}{header_row + max(rows, 1)}"


def write_public_list_xlsx(title: str, entries: Sequence[PublicListEntry], path: Path) -> None:
    """Write the public list as XLSX: a summary sheet, one sheet per domain, then revocations."""
    groups: dict[str, list[PublicListEntry]] = {}
    revoked_by_domain: dict[str, int] = {}
    revoked: list[PublicListEntry] = []
    for e in entries:
        groups.setdefault(e.domain, [])
        if e.revoked:
            revoked.append(e)
            revoked_by_domain[e.domain] = revoked_by_domain.get(e.domain, 0) + 1
        else:
            groups[e.domain].append(e)

    book = Workbook(write_only=True)
    taken = {"汇总", REVOKED_HEADING}

    summary = book.create_sheet("汇总")
    columns = (("领域", 14), ("牵头单位", 24), ("命名数", 10), ("已撤销", 10))
    for i, (_, width) in enumerate(columns, start=1):
        summary.column_dimensions[get_column_letter(i)].width = width
    summary.freeze_panes = "A3"
    head = WriteOnlyCell(summary, value=safe_cell(title))
    head.font = _TITLE
    summary.append([head])
    summary.append(_header(summary, columns))
    for domain, members in groups.items():
        leads = "、".join(dict.fromkeys(e.lead_unit for e in members)) or "—"
        summary.append(
            [safe_cell(domain), safe_cell(leads), len(members), revoked_by_domain.get(domain, 0)]
        )
    total = [WriteOnlyCell(summary, value=v) for v in ("合计", "", sum(map(len, groups.values())))]
    total.append(WriteOnlyCell(summary, value=len(revoked)))
    for cell in total:
        cell.font = _BOLD
    summary.append(total)

    for domain, members in groups.items():
        ws = book.create_sheet(_sheet_title(domain, taken))
        _prepare(ws, _DOMAIN_COLUMNS, len(members), 1)
        ws.append(_header(ws, _DOMAIN_COLUMNS))
        for n, e in enumerate(members, start=1):
            ws.append(
                [
                    n,
                    safe_cell(e.number),
                    safe_cell(e.cell_name),
                    safe_cell(e.cell_code),
                    safe_cell(e.village or ""),
                    safe_cell(e.lead_unit),
                    e.issued_on,
                ]
            )

    if revoked:
        ws = book.create_sheet(REVOKED_HEADING)
        _prepare(ws, _REVOKED_COLUMNS, len(revoked), 1)
        ws.append(_header(ws, _REVOKED_COLUMNS))
        for n, e in enumerate(revoked, start=1):
            ws.append(
                [
                    n,
                    safe_cell(e.number),
                    safe_cell(e.cell_name),
                    safe_cell(e.cell_code),
                    safe_cell(e.village or ""),
                    safe_cell(e.domain),
                    e.issued_on,
                    safe_cell(e.revoked_reason or ""),
                ]
            )

    with atomic_output(path) as fh:
        book.save(fh)

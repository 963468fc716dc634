"""The public list as an A4 PDF: sections paginated into blocks, each under its heading and a
repeated header row, with a running header and page numbers."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reportlab.lib.colors import Color, HexColor  # type: ignore[import-untyped]
from reportlab.lib.pagesizes import A4  # type: ignore[import-untyped]
from reportlab.pdfbase import pdfmetrics  # type: ignore[import-untyped]

from pingan.adapters.render.files import atomic_output
from pingan.adapters.render.fonts import register_reportlab_font
from pingan.adapters.render.pdf import Fitted, binary_streams, fit_text, new_canvas
from pingan.adapters.render.public_list.entries import (
    DEFAULT_GROUPING,
    REVOKED_HEADING,
    PublicListEntry,
    Section,
    sections,
)

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

    section: Section
    widths: tuple[float, ...]
    top: float
    continued: bool
    rows: list[_Row]


@dataclass
class _Page:
    first: bool
    blocks: list[_Block]


# --- pagination ------------------------------------------------------------------------------


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


def _paginate(font_name: str, parts: list[Section], header_height: float) -> list[_Page]:
    font = pdfmetrics.getFont(font_name)
    pages: list[_Page] = [_Page(first=True, blocks=[])]
    y = _TOP - header_height
    for section in parts:
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


# --- drawing ---------------------------------------------------------------------------------


def _draw_running(c: Any, font: str, number: int, total: int, title: str) -> None:
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


def _draw_title(c: Any, font: str, page: _Page, title: str, subtitle: str) -> None:
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


def _draw_page(
    c: Any, font: str, page: _Page, number: int, total: int, title: str, subtitle: str
) -> None:
    _draw_running(c, font, number, total, title)
    if page.first:
        _draw_title(c, font, page, title, subtitle)
    for block in page.blocks:
        _draw_block(c, font, block)


def _draw_heading(c: Any, font: str, block: _Block, y: float) -> None:
    section = block.section
    colour = RED if section.heading.endswith(REVOKED_HEADING) else INK
    c.setFillColor(colour)
    c.setStrokeColor(colour)
    c.setLineWidth(0.35)
    c.setFont(font, 12)
    heading = section.heading + ("（续）" if block.continued else "")
    c.drawString(_MARGIN_X, y - 16, heading, mode=2)
    c.setFillColor(GREY)
    c.setFont(font, 9)
    c.drawString(_MARGIN_X + pdfmetrics.stringWidth(heading, font, 12) + 4, y - 16, section.note)


def _draw_header_row(c: Any, font: str, block: _Block, y: float) -> None:
    # Header row, repeated on every page the section spans.
    x0 = _MARGIN_X
    c.setFillColor(HEAD_FILL)
    c.rect(x0, y - _HEADER_H, _TABLE_W, _HEADER_H, stroke=0, fill=1)
    c.setFillColor(INK)
    c.setStrokeColor(INK)
    c.setFont(font, _HEAD_SIZE)
    x = x0
    for (label, _), w in zip(block.section.columns, block.widths, strict=True):
        c.drawCentredString(x + w / 2, y - _HEADER_H + 6.5, label, mode=2)
        x += w


def _draw_block(c: Any, font: str, block: _Block) -> None:
    x0 = _MARGIN_X
    y = block.top
    _draw_heading(c, font, block, y)
    y -= _HEADING_H
    _draw_header_row(c, font, block, y)
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
    title: str,
    subtitle: str,
    entries: Sequence[PublicListEntry],
    path: Path,
    *,
    font_path: Path | None = None,
    grouping: str = DEFAULT_GROUPING,
) -> int:
    """Write the public list as an A4 PDF; returns the number of pages. ``font_path`` is the
    configured font (None: discover one)."""
    font = register_reportlab_font(font_path)
    big, sub = _first_page_header(font, title, subtitle)
    pages = _paginate(font, sections(entries, grouping), _header_height(big, sub))
    with atomic_output(path) as fh, binary_streams():
        c = new_canvas(fh, font, (PAGE_WIDTH, PAGE_HEIGHT), title)
        c.setSubject(subtitle)
        for n, page in enumerate(pages, start=1):
            _draw_page(c, font, page, n, len(pages), title, subtitle)
            c.showPage()
        c.save()
    return len(pages)

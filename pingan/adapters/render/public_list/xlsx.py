"""The public list as an XLSX workbook: a summary sheet, one sheet per domain, then the
revocations. Every text cell goes through safe_cell."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from pingan.adapters.render.cells import safe_cell
from pingan.adapters.render.files import atomic_output
from pingan.adapters.render.printing import PrintLayout, set_up_a4
from pingan.adapters.render.public_list.entries import (
    DEFAULT_GROUPING,
    REVOKED_HEADING,
    PublicListEntry,
)

_SHEET_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")
_SUMMARY_COLUMNS = (("领域", 14), ("牵头单位", 24), ("命名数", 10), ("已撤销", 10))
_DOMAIN_COLUMNS = (
    ("序号", 7),
    ("命名编号", 30),
    ("单位名称", 40),
    ("单位编码", 16),
    ("{grouping}", 16),
    ("牵头单位", 20),
    ("命名日期", 12),
)
_REVOKED_COLUMNS = (
    ("序号", 7),
    ("命名编号", 30),
    ("单位名称", 40),
    ("单位编码", 16),
    ("{grouping}", 16),
    ("领域", 12),
    ("命名日期", 12),
    ("撤销原因", 40),
)
_BOLD = Font(bold=True)
_TITLE = Font(bold=True, size=14)
_FILL = PatternFill("solid", fgColor="F3E6E6")
_CENTRE = Alignment(horizontal="center", vertical="center")
# Column widths (in characters) that fit an A4 page upright at a legible scale.
_PORTRAIT_WIDTH = 100


@dataclass(frozen=True)
class _Groups:
    """Valid awards per domain (every domain, even one whose awards were all revoked), and
    the revoked ones."""

    valid: dict[str, list[PublicListEntry]] = field(default_factory=dict)
    revoked: list[PublicListEntry] = field(default_factory=list)
    revoked_by_domain: dict[str, int] = field(default_factory=dict)


def _group(entries: Sequence[PublicListEntry]) -> _Groups:
    groups = _Groups()
    for e in entries:
        groups.valid.setdefault(e.domain, [])
        if e.revoked:
            groups.revoked.append(e)
            groups.revoked_by_domain[e.domain] = groups.revoked_by_domain.get(e.domain, 0) + 1
        else:
            groups.valid[e.domain].append(e)
    return groups


def _columns(columns: Sequence[tuple[str, int]], grouping: str) -> tuple[tuple[str, int], ...]:
    return tuple((h.format(grouping=grouping), w) for h, w in columns)


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
    # Write-only sheets take widths, panes, filters and print setup before the first row.
    wide = sum(width for _, width in columns) > _PORTRAIT_WIDTH
    set_up_a4(ws, PrintLayout(landscape=wide, title_rows=f"1:{header_row}"))
    for i, (_, width) in enumerate(columns, start=1):
        ws.column_dimensions[get_column_letter(i)].width = width
    ws.freeze_panes = f"A{header_row + 1}"
    last = get_column_letter(len(columns))
    ws.auto_filter.ref = f"A{header_row}:{last}{header_row + max(rows, 1)}"


def _summary_sheet(book: Workbook, title: str, groups: _Groups) -> None:
    summary = book.create_sheet("汇总")
    set_up_a4(summary, PrintLayout(title_rows="1:2"))
    for i, (_, width) in enumerate(_SUMMARY_COLUMNS, start=1):
        summary.column_dimensions[get_column_letter(i)].width = width
    summary.freeze_panes = "A3"
    head = WriteOnlyCell(summary, value=safe_cell(title))
    head.font = _TITLE
    summary.append([head])
    summary.append(_header(summary, _SUMMARY_COLUMNS))
    for domain, members in groups.valid.items():
        leads = "、".join(dict.fromkeys(e.lead_unit for e in members)) or "—"
        summary.append(
            [
                safe_cell(domain),
                safe_cell(leads),
                len(members),
                groups.revoked_by_domain.get(domain, 0),
            ]
        )
    named = sum(map(len, groups.valid.values()))
    total = [WriteOnlyCell(summary, value=v) for v in ("合计", "", named)]
    total.append(WriteOnlyCell(summary, value=len(groups.revoked)))
    for cell in total:
        cell.font = _BOLD
    summary.append(total)


def _domain_sheet(
    book: Workbook, title: str, members: list[PublicListEntry], grouping: str
) -> None:
    columns = _columns(_DOMAIN_COLUMNS, grouping)
    ws = book.create_sheet(title)
    _prepare(ws, columns, len(members), 1)
    ws.append(_header(ws, columns))
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


def _revoked_sheet(book: Workbook, revoked: list[PublicListEntry], grouping: str) -> None:
    columns = _columns(_REVOKED_COLUMNS, grouping)
    ws = book.create_sheet(REVOKED_HEADING)
    _prepare(ws, columns, len(revoked), 1)
    ws.append(_header(ws, columns))
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


def write_public_list_xlsx(
    title: str,
    entries: Sequence[PublicListEntry],
    path: Path,
    grouping: str = DEFAULT_GROUPING,
) -> None:
    """Write the public list as XLSX: a summary sheet, one sheet per domain, then revocations."""
    groups = _group(entries)
    book = Workbook(write_only=True)
    taken = {"汇总", REVOKED_HEADING}
    _summary_sheet(book, title, groups)
    for domain, members in groups.valid.items():
        _domain_sheet(book, _sheet_title(domain, taken), members, grouping)
    if groups.revoked:
        _revoked_sheet(book, groups.revoked, grouping)
    with atomic_output(path) as fh:
        book.save(fh)

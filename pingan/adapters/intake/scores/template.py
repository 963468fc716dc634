"""The score template: one sheet per domain, one row per active cell, written atomically.

Each sheet shows the full marks and the pass mark, works out 总分 and 是否达标 per row as
the team types, prompts for every input, and is protected so that the listed cells' codes
and names, the formulas and the headers cannot be overwritten by a slip (no password: a
team that must change the layout can lift the protection). It prints on A4 landscape, one
page wide, the title and headers on every page, with a line for the assessors to sign."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

import openpyxl
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill, Protection
from openpyxl.utils import get_column_letter

from pingan.adapters.intake.scores.columns import (
    CODE,
    DATE,
    Column,
    num,
    sheet_columns,
    sheet_titles,
)
from pingan.adapters.intake.scores.inputs import formulas, validation
from pingan.adapters.render.cells import safe_cell
from pingan.adapters.render.printing import PrintLayout, set_up_a4, signature_line
from pingan.core.campaign import Campaign, Domain
from pingan.core.problems import InputError, Problem
from pingan.core.scores import CellRef, acceptance_window

_FIRST_DATA_ROW = 4  # title, Chinese header, machine keys

_TITLE_FONT = Font(bold=True, size=14)
_HEADER_FONT = Font(bold=True)
_HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
_HEADER_ALIGN = Alignment(horizontal="center", vertical="center", wrap_text=True)
_KEY_FONT = Font(size=8, color="808080")
_FORMULA_FILL = PatternFill("solid", fgColor="F2F2F2")
_OPEN = Protection(locked=False)
# Rows a team may add below the listed cells and still get the checks and formulas.
_SPARE_ROWS = 20
_PRINT = PrintLayout(
    landscape=True,
    title_rows="1:2",
    signature=signature_line("考核人（签字）", "复核人（签字）", "日期"),
)
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
    keys = _chosen_domains(campaign, domains)
    by_domain = _by_domain(campaign, cells)
    titles = sheet_titles(campaign)
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


def _chosen_domains(campaign: Campaign, domains: Sequence[str] | None) -> list[str]:
    """The domain keys to write, in order; InputError for an unknown one or none at all."""
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
    return keys


def _by_domain(campaign: Campaign, cells: Sequence[CellRef]) -> dict[str, list[CellRef]]:
    by_domain: dict[str, list[CellRef]] = {d.key: [] for d in campaign.domains}
    seen: set[str] = set()
    for cell in cells:
        if cell.domain not in by_domain:
            raise ValueError(f"单位 {cell.code} 的领域 {cell.domain!r} 不在活动方案中")
        if cell.code in seen:
            raise ValueError(f"单位编码 {cell.code} 重复")
        seen.add(cell.code)
        by_domain[cell.domain].append(cell)
    return by_domain


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
    laid_out = sheet_columns(domain)
    last = _FIRST_DATA_ROW + len(cells) + _SPARE_ROWS - 1
    _lay_out(ws, laid_out, domain, window, last=last)
    name = campaign.short_name or campaign.name
    r = domain.rubric
    heading = _text_cell(
        ws,
        f"{name}考核验收评分表（{domain.name}）　满分 {num(r.total)} 分，"
        f"{num(r.pass_mark)} 分及以上为达标",
    )
    heading.font = _TITLE_FONT
    ws.append([heading])
    headers = []
    for column in laid_out:
        cell = _text_cell(ws, column.header)
        cell.font, cell.fill, cell.alignment = _HEADER_FONT, _HEADER_FILL, _HEADER_ALIGN
        headers.append(cell)
    ws.append(headers)
    keys = []
    for column in laid_out:
        cell = _text_cell(ws, column.id)
        cell.font = _KEY_FONT
        keys.append(cell)
    ws.append(keys)
    for row in range(_FIRST_DATA_ROW, last + 1):
        k = row - _FIRST_DATA_ROW
        values: list[Any] = [None] * len(laid_out)
        if k < len(cells):
            ref = cells[k]
            # Text format, so a code like 0012 stays 0012 when a team retypes it.
            values[0] = _text_cell(ws, ref.code)
            values[0].number_format = _TEXT
            values[1] = _text_cell(ws, ref.name)
            values[2] = _text_cell(ws, ref.village) if ref.village else None
        for i, formula in formulas(domain, laid_out, row).items():
            cell = WriteOnlyCell(ws, value=formula)
            cell.fill = _FORMULA_FILL
            values[i] = cell
        ws.append(values)


def _lay_out(
    ws: Any, laid_out: list[Column], domain: Domain, window: tuple[date, date], *, last: int
) -> None:
    """Column widths, formats and protection, row heights, frozen panes, print setup and
    data validation to `last`."""
    # Write-only sheets take column and row settings only before the first row.
    set_up_a4(ws, _PRINT)
    for i, column in enumerate(laid_out, 1):
        dim = ws.column_dimensions[get_column_letter(i)]
        dim.width = column.width
        if column is CODE:
            dim.number_format = _TEXT
        elif column is DATE:
            dim.number_format = _DATE_FORMAT
        # A cell nobody wrote takes its column's style: open for input, also on the spare
        # rows. The listed cells' codes and names, the formulas and the headers are
        # written with a style of their own, so stay locked.
        dim.protection = _OPEN
    ws.row_dimensions[1].height = 30
    ws.row_dimensions[2].height = 64
    # The key row lets the reader find each column whatever the header now says.
    ws.row_dimensions[3].hidden = True
    ws.freeze_panes = f"{get_column_letter(4)}{_FIRST_DATA_ROW}"
    ws.protection.sheet = True
    for allowed in ("formatColumns", "formatRows", "formatCells"):
        setattr(ws.protection, allowed, False)

    for i, column in enumerate(laid_out, 1):
        dv = validation(column, domain, window)
        if dv is not None:
            letter = get_column_letter(i)
            dv.add(f"{letter}{_FIRST_DATA_ROW}:{letter}{last}")
            ws.data_validations.append(dv)


def _text_cell(ws: Any, text: str) -> Any:
    # openpyxl stores any text starting with "=" as a formula; a unit named "=HYPERLINK(…)"
    # in the roster must reach the assessors as the text it is. The text type keeps Excel
    # from evaluating it here, and safe_cell keeps it text in a CSV the team saves from it.
    # The reader finds columns by the hidden key row, whose keys safe_cell leaves alone.
    cell = WriteOnlyCell(ws, value=safe_cell(text))
    cell.data_type = "s"
    return cell

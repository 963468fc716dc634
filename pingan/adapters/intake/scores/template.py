"""The score template: one sheet per domain, one row per active cell, written atomically."""

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
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from pingan.adapters.intake.scores.columns import CODE, DATE, Column, columns, num, sheet_titles
from pingan.adapters.render.cells import safe_cell
from pingan.core.campaign import Campaign, Domain
from pingan.core.problems import InputError, Problem
from pingan.core.scores import CellRef, acceptance_window

_FIRST_DATA_ROW = 4  # title, Chinese header, machine keys

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
    sheet_columns = columns(domain)
    _lay_out(ws, sheet_columns, domain, window, last=_FIRST_DATA_ROW + max(len(cells), 1) - 1)
    name = campaign.short_name or campaign.name
    heading = _text_cell(ws, f"{name}考核验收评分表（{domain.name}）")
    heading.font = _TITLE_FONT
    ws.append([heading])
    headers = []
    for column in sheet_columns:
        cell = _text_cell(ws, column.header)
        cell.font, cell.fill, cell.alignment = _HEADER_FONT, _HEADER_FILL, _HEADER_ALIGN
        headers.append(cell)
    ws.append(headers)
    keys = []
    for column in sheet_columns:
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


def _lay_out(
    ws: Any, sheet_columns: list[Column], domain: Domain, window: tuple[date, date], *, last: int
) -> None:
    """Column widths and formats, row heights, frozen panes and data validation to `last`."""
    # Write-only sheets take column and row settings only before the first row.
    for i, column in enumerate(sheet_columns, 1):
        dim = ws.column_dimensions[get_column_letter(i)]
        dim.width = column.width
        if column is CODE:
            dim.number_format = _TEXT
        elif column is DATE:
            dim.number_format = _DATE_FORMAT
    ws.row_dimensions[1].height = 30
    ws.row_dimensions[2].height = 64
    # The key row lets the reader find each column whatever the header now says.
    ws.row_dimensions[3].hidden = True
    ws.freeze_panes = f"{get_column_letter(4)}{_FIRST_DATA_ROW}"

    for i, column in enumerate(sheet_columns, 1):
        dv = _validation(column, domain, window)
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


def _validation(column: Column, domain: Domain, window: tuple[date, date]) -> Any:
    common: dict[str, Any] = {
        "allow_blank": True,
        "showErrorMessage": True,
        "showInputMessage": True,
    }
    if column.kind == "c":
        points = num(next(c.points for c in domain.rubric.criteria if c.key == column.key))
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
    if column is DATE:
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

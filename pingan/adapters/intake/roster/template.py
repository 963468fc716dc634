"""The roster template (名册模板): an .xlsx with the roster's Chinese headers, a prompt on
every column and drop-downs for 类型, 领域 and 所属村社区, set up for A4 printing with a line
for the filing unit to sign and stamp.

The choices live on a second sheet, 选项: the campaign's domains, and its villages when the
caller knows them (a loaded campaign); without them, the village drop-down offers the codes
typed in the roster's own first column. The reader reads only the first sheet.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

import openpyxl
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from pingan.adapters.intake.roster.columns import (
    CODE,
    DOMAIN,
    KIND_LABELS,
    LABELS,
    MOBILE,
    TYPE,
    VILLAGE,
)
from pingan.adapters.render.cells import safe_cell
from pingan.adapters.render.files import atomic_output
from pingan.adapters.render.printing import PrintLayout, set_up_a4, signature_line
from pingan.core.campaign import Campaign
from pingan.core.problems import InputError, Problem

ROSTER_SHEET: Final = "名册"
CHOICES_SHEET: Final = "选项"
_LAST_ROW: Final = 10_000  # rows the checks and drop-downs cover
_WIDTHS: Final = (14, 28, 11, 14, 14, 12, 10, 14, 24, 22, 22, 22)
_TEXT: Final = "@"
_HEADER_FONT = Font(bold=True)
_HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
_HEADER_ALIGN = Alignment(horizontal="center", vertical="center", wrap_text=True)
_PRINT = PrintLayout(
    landscape=True,
    title_rows="1:1",
    signature=signature_line("填报单位（盖章）", "填报人（签字）", "联系电话", "日期"),
)
_PROMPTS: Final = {
    CODE: "本单位在名册中的唯一编码，如 C0001；导入后不要更改。",
    TYPE: "创建单位（平安细胞）、村社区，或牵头、参与单位。",
    DOMAIN: "创建单位所属的创建领域；村社区和单位不填。",
    VILLAGE: "创建单位所属村（社区）的编码；村社区和单位不填。",
    MOBILE: "11 位手机号，接收提醒短信。",
}


def write_roster_template(
    campaign: Campaign, out: Path, *, villages: Sequence[tuple[str, str]] = ()
) -> Path:
    """Write the template to out (atomically); villages are (code, name) pairs.

    Raises InputError when out cannot be written (a folder that is a file, a full disk)."""
    book = openpyxl.Workbook(write_only=True)
    roster = book.create_sheet(ROSTER_SHEET)
    choices = book.create_sheet(CHOICES_SHEET)
    _roster_sheet(roster, campaign, bool(villages))
    _choices_sheet(choices, campaign, villages)
    try:
        with atomic_output(out) as fh:
            book.save(fh)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise InputError([Problem(str(out), "", f"无法写入名册模板：{reason}")]) from None
    return out


def _roster_sheet(ws: Any, campaign: Campaign, has_villages: bool) -> None:
    # Write-only sheets take print, column and pane settings before the first row.
    set_up_a4(ws, _PRINT)
    for i, width in enumerate(_WIDTHS, start=1):
        dim = ws.column_dimensions[get_column_letter(i)]
        dim.width = width
        if i - 1 in (CODE, MOBILE):
            dim.number_format = _TEXT  # 0012 stays 0012, a mobile stays 11 digits
    ws.freeze_panes = "B2"
    for dv in _validations(campaign, has_villages):
        ws.data_validations.append(dv)
    header = []
    for label in LABELS:
        cell = WriteOnlyCell(ws, value=label)
        cell.font, cell.fill, cell.alignment = _HEADER_FONT, _HEADER_FILL, _HEADER_ALIGN
        header.append(cell)
    ws.append(header)


def _column(column: int) -> str:
    letter = get_column_letter(column + 1)
    return f"{letter}2:{letter}{_LAST_ROW}"


def _validations(campaign: Campaign, has_villages: bool) -> list[DataValidation]:
    kinds = ",".join(KIND_LABELS.values())
    domains = len(campaign.domains)
    villages = f"{CHOICES_SHEET}!$B$2:$B${_LAST_ROW}" if has_villages else f"$A$2:$A${_LAST_ROW}"
    lists = {
        TYPE: f'"{kinds}"',
        DOMAIN: f"{CHOICES_SHEET}!$A$2:$A${domains + 1}",
        VILLAGE: villages,
    }
    out = []
    for column, source in lists.items():
        dv = DataValidation(
            type="list",
            formula1=source,
            allow_blank=True,
            showErrorMessage=column != VILLAGE,  # a village listed further down is fine
            errorTitle="取值无效",
            error=f"请从下拉列表中选择{LABELS[column]}。",
            promptTitle=LABELS[column],
            prompt=_PROMPTS[column],
            showInputMessage=True,
        )
        dv.add(_column(column))
        out.append(dv)
    for column in (CODE, MOBILE):
        dv = DataValidation(
            allow_blank=True,
            promptTitle=LABELS[column],
            prompt=_PROMPTS[column],
            showInputMessage=True,
        )
        dv.add(_column(column))
        out.append(dv)
    return out


def _choices_sheet(ws: Any, campaign: Campaign, villages: Sequence[tuple[str, str]]) -> None:
    set_up_a4(ws, PrintLayout(title_rows="1:1"))
    for letter, width in zip("ABC", (20, 16, 24), strict=True):
        ws.column_dimensions[letter].width = width
    grouping = campaign.wording.grouping
    ws.append(["创建领域", f"{grouping}编码", f"{grouping}名称"])
    domains = [d.name for d in campaign.domains]
    for i in range(max(len(domains), len(villages))):
        code, name = villages[i] if i < len(villages) else ("", "")
        ws.append(
            [
                safe_cell(domains[i]) if i < len(domains) else None,
                safe_cell(code) or None,
                safe_cell(name) or None,
            ]
        )

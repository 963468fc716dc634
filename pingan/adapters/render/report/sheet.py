"""A streamed (write-only) worksheet with the report workbook's styles; every text cell goes
through safe_cell."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from pingan.adapters.render.cells import safe_cell
from pingan.adapters.render.printing import PrintLayout, set_up_a4

HEADER_FILL = PatternFill("solid", fgColor="ECEFF1")
TOTAL_FILL = PatternFill("solid", fgColor="F5F5F5")
RED_FILL = PatternFill("solid", fgColor="FDE2E1")
TITLE_FONT = Font(bold=True, size=14, color="A31515")
SUBTITLE_FONT = Font(size=10, color="607D8B")
HEADING_FONT = Font(bold=True, size=12)
NOTE_FONT = Font(size=9, color="607D8B")
BOLD = Font(bold=True)
WRAP = Alignment(vertical="center", wrap_text=True)
PERCENT = "0.0%"
DATE = "yyyy-mm-dd"
TITLE_ROWS = 2  # title and subtitle; every list's header is the row after them


class Sheet:
    """A streamed worksheet: widths and frozen panes first, then rows in order."""

    def __init__(self, wb: Workbook, name: str, widths: Sequence[float]) -> None:
        self.ws: Any = wb.create_sheet(name)
        # A4 landscape, one page wide; the first table's header repeats on every page.
        set_up_a4(self.ws, PrintLayout(landscape=True))
        for i, width in enumerate(widths, start=1):
            self.ws.column_dimensions[get_column_letter(i)].width = width
        self.row = 0

    def freeze(self, row: int, column: int = 1) -> None:
        self.ws.freeze_panes = f"{get_column_letter(column)}{row}"

    def line(
        self,
        values: Sequence[Any],
        *,
        font: Font | None = None,
        fill: PatternFill | None = None,
        formats: Mapping[int, str] | None = None,
        alignment: Alignment | None = None,
    ) -> None:
        styled = font is not None or fill is not None or alignment is not None
        cells: list[Any] = []
        for i, value in enumerate(values):
            value = safe_cell(value) if isinstance(value, str) else value
            fmt = formats.get(i) if formats else None
            if not styled and fmt is None:
                cells.append(value)
                continue
            cell = WriteOnlyCell(self.ws, value=value)
            if font is not None:
                cell.font = font
            if fill is not None:
                cell.fill = fill
            if alignment is not None:
                cell.alignment = alignment
            if fmt is not None:
                cell.number_format = fmt
            cells.append(cell)
        self.ws.append(cells)
        self.row += 1

    def title(self, title: str, subtitle: str) -> None:
        self.line([title], font=TITLE_FONT)
        self.line([subtitle], font=SUBTITLE_FONT)

    def table(
        self,
        headers: Sequence[str],
        rows: Iterable[Sequence[Any]],
        formats: Mapping[int, str] | None = None,
    ) -> int:
        """Header and rows; returns the header's row number."""
        self.line(headers, font=BOLD, fill=HEADER_FILL, alignment=WRAP)
        head = self.row
        if self.ws.print_title_rows is None:
            self.ws.print_title_rows = f"{head}:{head}"
        for row in rows:
            self.line(row, formats=formats)
        return head

    def filter(self, head: int, columns: int) -> None:
        if self.row > head:
            self.ws.auto_filter.ref = f"A{head}:{get_column_letter(columns)}{self.row}"

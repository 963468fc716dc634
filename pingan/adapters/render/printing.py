"""A4 print setup for every workbook pingan writes, so that a clerk's 打印 gives pages to
file or sign: paper size and orientation, one page wide (as many pages tall as it takes),
the title and header rows repeated on every page, page numbers, and a signature line in
the footer of sheets whose paper copy is signed.

For a write-only sheet, call ``set_up_a4`` before the first row is appended: the fit-to-page
flag is written with the sheet's properties, ahead of its rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from openpyxl.worksheet.page import PageMargins

A4: Final = 9  # paperSize code in SpreadsheetML
PAGE_NUMBERS: Final = "第 &P 页，共 &N 页"


@dataclass(frozen=True)
class PrintLayout:
    """How one sheet prints.

    title_rows: the rows repeated at the top of every page, as "1:2" (None for none);
    signature: the footer line for signing a paper copy, e.g. "考核人（签字）：…".
    """

    landscape: bool = False
    title_rows: str | None = None
    signature: str | None = None


def signature_line(*fields: str) -> str:
    """Blanks to sign and date by hand: "考核人（签字）：________　日期：________"."""
    return "　　".join(f"{name}：{'_' * 14}" for name in fields)


def set_up_a4(ws: Any, layout: PrintLayout) -> None:
    """A4, the layout's orientation, fit to one page wide, centred, page numbers, and the
    layout's title rows and signature line."""
    ws.page_setup.paperSize = A4
    ws.page_setup.orientation = "landscape" if layout.landscape else "portrait"
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0  # as many pages tall as the rows need
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_options.horizontalCentered = True
    # Narrow sides for wide tables; room at the foot for a signature.
    ws.page_margins = PageMargins(left=0.4, right=0.4, top=0.6, bottom=0.9, footer=0.3)
    if layout.title_rows is not None:
        ws.print_title_rows = layout.title_rows
    footer = ws.HeaderFooter.oddFooter
    footer.right.text = PAGE_NUMBERS
    footer.right.size = 9
    if layout.signature is not None:
        footer.left.text = layout.signature
        footer.left.size = 11

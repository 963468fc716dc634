"""The late-items list attached to digests by email, as an XLSX workbook (Chinese headers)."""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter

from pingan.adapters.render.cells import safe_cell as _cell
from pingan.adapters.render.printing import PrintLayout, set_up_a4

HEADERS = ("领域", "{grouping}", "单位", "事项", "截止日期", "逾期工作日", "督办次数")


def late_list_xlsx(
    title: str, items: Iterable[Mapping[str, Any]], grouping: str = "村（社区）"
) -> bytes:
    """The list; ``grouping`` heads the second column (the campaign's 村（社区）, 乡镇 …)."""
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "逾期事项"
    ws.append([_cell(title)])
    ws["A1"].font = Font(bold=True, size=14)
    ws.append([h.format(grouping=grouping) for h in HEADERS])
    for c in ws[2]:
        c.font = Font(bold=True)
        c.fill = PatternFill("solid", fgColor="FDE2E1")
    for item in items:
        due = item["due_on"]
        ws.append(
            [
                _cell(item["domain"]),
                _cell(item["village"]),
                _cell(item["unit"]),
                _cell(item["gate"]),
                due.isoformat() if isinstance(due, date) else due,
                item["days_overdue"],
                item["level"],
            ]
        )
    for i, width in enumerate((12, 14, 28, 40, 12, 10, 8), start=1):
        ws.column_dimensions[get_column_letter(i)].width = width
    ws.freeze_panes = "A3"
    set_up_a4(ws, PrintLayout(landscape=True, title_rows="1:2"))
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()

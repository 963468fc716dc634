"""What the score template tells a team as it types: a prompt and a check on every input
column, and per row the 总分 and 是否达标 worked out by formulas against the pass mark.

The formulas follow core.scoring.score: criteria summed, each deduction capped at its
maximum, the total never below 0 and rounded to 2 places, and any veto fails the cell.
They only show the team where a cell stands; the import recomputes everything."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from pingan.adapters.intake.scores.columns import ASSESSOR, DATE, NOTE, PASSED, TOTAL, Column, num
from pingan.core.campaign import Domain

# Excel's limits for an input prompt's title and text.
_TITLE_CHARS = 32
_PROMPT_CHARS = 255


def _prompt(title: str, text: str) -> dict[str, Any]:
    return {
        "promptTitle": title[:_TITLE_CHARS],
        "prompt": text[:_PROMPT_CHARS],
        "showInputMessage": True,
    }


def validation(column: Column, domain: Domain, window: tuple[date, date]) -> Any:
    """The check and prompt of an input column; None for the columns a team does not fill."""
    common: dict[str, Any] = {"allow_blank": True, "showErrorMessage": True}
    r = domain.rubric
    if column.kind == "c":
        points = num(next(c.points for c in r.criteria if c.key == column.key))
        return DataValidation(
            type="decimal",
            operator="between",
            formula1="0",
            formula2=points,
            errorTitle="得分无效",
            error=f"请填写 0 至 {points} 之间的分数。",
            **_prompt(column.label, f"填写本项得分：0 至 {points} 分。"),
            **common,
        )
    if column.kind == "d":
        d = next(d for d in r.deductions if d.key == column.key)
        return DataValidation(
            type="whole",
            operator="greaterThanOrEqual",
            formula1="0",
            errorTitle="次数无效",
            error="请填写发生次数（不小于 0 的整数），未发生的可不填。",
            **_prompt(
                column.label,
                f"填写发生次数：每次扣 {num(d.points_each)} 分，最多扣 {num(d.max_points)} 分；"
                "未发生的可不填。",
            ),
            **common,
        )
    if column.kind == "v":
        return DataValidation(
            type="list",
            formula1='"是,否"',
            errorTitle="取值无效",
            error="请选择“是”或“否”，未发生的可不填。",
            **_prompt(column.label, "发生的选“是”（本单位不达标）；未发生的可不填。"),
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
            **_prompt("考核日期", f"填写考核日期，如 {start.isoformat()}；应在考核验收期内。"),
            **common,
        )
    if column is ASSESSOR:
        return DataValidation(**_prompt("考核人", "填写考核人姓名，多人用“、”分隔。"), **common)
    if column is NOTE:
        return DataValidation(**_prompt("备注", "可填写扣分原因、整改要求等说明。"), **common)
    return None


def formulas(domain: Domain, sheet_columns: Sequence[Column], row: int) -> dict[int, str]:
    """Position in the row → formula, for the 总分 and 是否达标 columns."""
    r = domain.rubric
    at = {c.id: i for i, c in enumerate(sheet_columns)}

    def ref(column: Column) -> str:
        return f"{get_column_letter(at[column.id] + 1)}{row}"

    criteria = [ref(c) for c in sheet_columns if c.kind == "c"]
    each = {d.key: d for d in r.deductions}
    deducted = "".join(
        f"-MIN(N({ref(c)})*{num(each[c.key].points_each)},{num(each[c.key].max_points)})"
        for c in sheet_columns
        if c.kind == "d"
    )
    total_at = get_column_letter(at[TOTAL] + 1)
    total = f"{total_at}{row}"
    gained = f"SUM({','.join(criteria)})"
    vetoes = [f'{ref(c)}="是"' for c in sheet_columns if c.kind == "v"]
    verdict = f'IF({total}>={num(r.pass_mark)},"是","否")'
    if vetoes:
        verdict = f'IF(OR({",".join(vetoes)}),"否",{verdict})'
    return {
        at[TOTAL]: f'=IF(COUNT({",".join(criteria)})=0,"",ROUND(MAX(0,{gained}{deducted}),2))',
        at[PASSED]: f'=IF({total}="","",{verdict})',
    }

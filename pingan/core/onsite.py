"""The on-site scoring form: a pydantic model built from the rubric of a few cells.

An assessment team that scores three cells on site fills one form in the Prefect UI: one
number field per criterion (bounded by its points), one count per deduction item and one
checkbox per veto item, each titled in Chinese with the cell's name. Field names are
positional (``c3_k2``) because cell codes and rubric keys need not be identifiers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from pydantic import BaseModel, Field, create_model

from pingan.core.campaign import Campaign
from pingan.core.scores import CellRef, ScoreRow
from pingan.core.scoring import ScoreSheet

MAX_ONSITE_CELLS = 20


def onsite_fields(campaign: Campaign, cells: Sequence[CellRef]) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "assessor": (str, Field(title="评分人（考核组成员姓名）", min_length=1)),
    }
    for i, cell in enumerate(cells):
        rubric = campaign.domain(cell.domain).rubric
        label = f"{cell.name}（{cell.code}）"
        for j, c in enumerate(rubric.criteria):
            # No bounds in the schema: the Prefect UI would refuse an out-of-range number in
            # English, naming the field "c0_0". The flow checks the scores instead
            # (scoring.check_sheet) and asks again in Chinese, naming the criterion.
            fields[f"c{i}_{j}"] = (
                float,
                Field(title=f"{label}·{c.name}（0～{c.points:g} 分）"),
            )
        for j, d in enumerate(rubric.deductions):
            fields[f"d{i}_{j}"] = (
                int,
                Field(
                    0,
                    title=f"{label}·扣分：{d.name}（每起扣 {d.points_each:g} 分，发生次数）",
                ),
            )
        for j, v in enumerate(rubric.vetoes):
            fields[f"v{i}_{j}"] = (bool, Field(False, title=f"{label}·一票否决：{v.name}"))
    return fields


def onsite_model(campaign: Campaign, cells: Sequence[CellRef], base: type[BaseModel]) -> Any:
    """``base`` is prefect's RunInput in the flow; plain BaseModel in tests of the core."""
    return create_model("现场评分", __base__=base, **onsite_fields(campaign, cells))


def onsite_rows(
    campaign: Campaign, cells: Sequence[CellRef], values: Mapping[str, Any], assessed_on: date
) -> list[ScoreRow]:
    assessor = str(values["assessor"]).strip()
    rows: list[ScoreRow] = []
    for i, cell in enumerate(cells):
        rubric = campaign.domain(cell.domain).rubric
        sheet = ScoreSheet(
            criteria={c.key: float(values[f"c{i}_{j}"]) for j, c in enumerate(rubric.criteria)},
            deductions={
                d.key: int(values.get(f"d{i}_{j}", 0) or 0) for j, d in enumerate(rubric.deductions)
            },
            vetoes=frozenset(v.key for j, v in enumerate(rubric.vetoes) if values.get(f"v{i}_{j}")),
        )
        rows.append(
            ScoreRow(
                cell=cell.code,
                domain=cell.domain,
                sheet=sheet,
                assessor=assessor,
                assessed_on=assessed_on,
                note=None,
                where=f"现场评分表 {cell.name}（{cell.code}）",
            )
        )
    return rows

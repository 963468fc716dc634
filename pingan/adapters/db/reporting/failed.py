"""Cells whose latest assessment failed, with the reasons in words."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from sqlalchemy import and_, select
from sqlalchemy.orm import Session, aliased

from pingan.adapters.db.assessments import AssessmentRow, AssessmentScoreRow
from pingan.adapters.db.campaigns import DomainRow
from pingan.adapters.db.reporting.common import active_cells
from pingan.adapters.db.status import latest_rounds
from pingan.adapters.db.units import UnitRow
from pingan.adapters.render.report.data import FailedCell
from pingan.core.campaign import Campaign

VETO_CHUNK = 5000  # assessment ids per IN (…) list


def _failed_rows(session: Session, campaign_id: int, as_of: date) -> list[Any]:
    latest = latest_rounds(campaign_id, as_of)
    village = aliased(UnitRow)
    return list(
        session.execute(
            select(
                AssessmentRow.id,
                AssessmentRow.round,
                AssessmentRow.assessed_on,
                AssessmentRow.total,
                AssessmentRow.vetoed,
                AssessmentRow.assessor,
                UnitRow.code,
                UnitRow.name,
                DomainRow.key.label("domain"),
                village.name.label("village"),
            )
            .join(
                latest,
                and_(
                    latest.c.unit_id == AssessmentRow.unit_id,
                    latest.c.round == AssessmentRow.round,
                ),
            )
            .join(UnitRow, UnitRow.id == AssessmentRow.unit_id)
            .join(DomainRow, DomainRow.id == UnitRow.domain_id)
            .outerjoin(village, village.id == UnitRow.village_id)
            .where(*active_cells(campaign_id), ~AssessmentRow.passed)
            .order_by(DomainRow.id, village.code, UnitRow.code)
        ).all()
    )


def _veto_keys(session: Session, vetoed_ids: list[int]) -> dict[int, list[str]]:
    """{assessment id: keys of the vetoes it recorded}, in key order."""
    vetoes: dict[int, list[str]] = {}
    for i in range(0, len(vetoed_ids), VETO_CHUNK):
        for aid, key in session.execute(
            select(AssessmentScoreRow.assessment_id, AssessmentScoreRow.item_key)
            .where(
                AssessmentScoreRow.assessment_id.in_(vetoed_ids[i : i + VETO_CHUNK]),
                AssessmentScoreRow.item_key.like("v:%"),
            )
            .order_by(AssessmentScoreRow.assessment_id, AssessmentScoreRow.item_key)
        ):
            vetoes.setdefault(aid, []).append(key[2:])
    return vetoes


def _failed_cell(campaign: Campaign, r: Any, vetoes: Mapping[int, list[str]]) -> FailedCell:
    d = campaign.domain(r.domain)
    veto_names = {v.key: v.name for v in d.rubric.vetoes}
    reasons = [f"一票否决：{veto_names.get(k, k)}" for k in vetoes.get(r.id, [])]
    if r.vetoed and not reasons:
        reasons.append("一票否决")
    if r.total < d.rubric.pass_mark - 1e-9:
        mark = _points(d.rubric.pass_mark)
        reasons.append(f"得分 {_points(r.total)} 分，低于达标分 {mark} 分")
    return FailedCell(
        domain=d.name,
        village=r.village or campaign.wording.direct,
        unit_code=r.code,
        unit_name=r.name,
        round=int(r.round),
        assessed_on=r.assessed_on,
        total=float(r.total),
        pass_mark=d.rubric.pass_mark,
        vetoed=bool(r.vetoed),
        reasons=tuple(reasons),
        assessor=r.assessor,
    )


def failed_cells(
    session: Session, campaign: Campaign, campaign_id: int, as_of: date
) -> tuple[FailedCell, ...]:
    """Active cells whose latest round by as_of failed, vetoed ones first, with the reasons."""
    rows = _failed_rows(session, campaign_id, as_of)
    vetoes = _veto_keys(session, [r.id for r in rows if r.vetoed])
    out = [_failed_cell(campaign, r, vetoes) for r in rows]
    out.sort(key=lambda c: not c.vetoed)  # stable: vetoed first, then the SQL order
    return tuple(out)


def _points(x: float) -> str:
    return f"{round(x, 2):.2f}".rstrip("0").rstrip(".")

"""The assessment that counts for each active cell: the query results, sign-off and grant share."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import aliased

from pingan.adapters.db.assessments import AssessmentRow
from pingan.adapters.db.campaigns import DomainRow
from pingan.adapters.db.status import latest_rounds
from pingan.adapters.db.units import UnitRow


def active_cells(campaign_id: int) -> tuple[Any, ...]:
    return (UnitRow.campaign_id == campaign_id, UnitRow.kind == "cell", UnitRow.status == "active")


def latest_assessments(campaign_id: int, as_of: date | None = None) -> Any:
    latest = latest_rounds(campaign_id, as_of)
    village = aliased(UnitRow)
    return (
        select(
            AssessmentRow.id,
            AssessmentRow.round,
            AssessmentRow.total,
            AssessmentRow.passed,
            AssessmentRow.vetoed,
            AssessmentRow.created_at,
            UnitRow.id.label("unit_id"),
            UnitRow.code,
            UnitRow.name,
            DomainRow.key.label("domain"),
            village.name.label("village"),
        )
        .join(
            latest,
            (latest.c.unit_id == AssessmentRow.unit_id) & (latest.c.round == AssessmentRow.round),
        )
        .join(UnitRow, UnitRow.id == AssessmentRow.unit_id)
        .join(DomainRow, DomainRow.id == UnitRow.domain_id)
        .outerjoin(village, village.id == UnitRow.village_id)
        .where(*active_cells(campaign_id))
    )

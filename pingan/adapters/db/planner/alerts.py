"""Queue an operator alert for the coordinator: one rendered row, deduplicated by its key."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from pingan.adapters.db.base import utcnow
from pingan.adapters.db.planner.rows import Planning, insert_planned, text_key
from pingan.adapters.db.units import UnitRow

KIND = "alert"


def plan_alert(
    session: Session, campaign_id: int, code: str, on: date, key: str, text: tuple[str, str]
) -> int:
    """The alert to every active coordinator unit of the campaign; how many were new."""
    coordinators = session.scalars(
        select(UnitRow.id).where(
            UnitRow.campaign_id == campaign_id,
            UnitRow.kind == "coordinator",
            UnitRow.status == "active",
        )
    ).all()
    planning = Planning(campaign_id, on, utcnow())
    rows = [planning.rendered(text_key(KIND, code, key, u), KIND, 0, u, text) for u in coordinators]
    return insert_planned(session, planning, rows)

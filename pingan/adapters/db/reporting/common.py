"""Building blocks of the report queries: obligation states as SQL over the obligations' own
dates, and the small lookups every query needs."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session

from pingan.adapters.db.campaigns import DomainRow, GateRow, WorkdayRow
from pingan.adapters.db.evaluate import CalendarNotLoaded
from pingan.adapters.db.obligations import ObligationRow
from pingan.adapters.db.units import UnitRow
from pingan.core.problems import InputError, Problem

# Headings for items that belong to no domain or no village come from the campaign's
# organisation (Campaign.wording: grouping, own_units, direct).


def overdue(as_of: date) -> Any:
    """gates.status_of(...) == "overdue", as SQL over the obligation's own dates."""
    return and_(
        ~ObligationRow.waived,
        or_(ObligationRow.done_on.is_(None), ObligationRow.done_on > as_of),
        ObligationRow.due_on < as_of,
    )


def submission_gates(campaign_id: int) -> Any:
    """Gates a unit submits files for. An assessment gate is the assessment team's work,
    never escalated to the cell; it is reported apart from "late, not submitted"."""
    return ObligationRow.gate_id.in_(
        select(GateRow.id).where(GateRow.campaign_id == campaign_id, GateRow.evidence == "files")
    )


def done_late(as_of: date) -> Any:
    return and_(
        ~ObligationRow.waived,
        ObligationRow.done_on <= as_of,
        ObligationRow.done_on > ObligationRow.due_on,
    )


def count_if(condition: Any) -> Any:
    # SUM(CASE …) rather than COUNT(*) FILTER: SQLite before 3.30 has no FILTER.
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def workday_ordinals(session: Session, campaign_id: int, as_of: date) -> dict[date, int]:
    """{day: working-day ordinal} of the campaign's calendar, which must reach ``as_of``."""
    rows = session.execute(
        select(WorkdayRow.day, WorkdayRow.ordinal).where(WorkdayRow.campaign_id == campaign_id)
    ).all()
    if not rows or as_of > max(d for d, _ in rows):
        last = max((d for d, _ in rows), default=None)
        raise InputError([Problem("参数", "as_of", str(CalendarNotLoaded(as_of, last)))])
    return {d: int(o) for d, o in rows}


def domain_keys(session: Session, campaign_id: int) -> dict[int, str]:
    return dict(
        session.execute(
            select(DomainRow.id, DomainRow.key).where(DomainRow.campaign_id == campaign_id)
        ).all()
    )


def active_cells(campaign_id: int) -> tuple[Any, ...]:
    return (
        UnitRow.campaign_id == campaign_id,
        UnitRow.kind == "cell",
        UnitRow.status == "active",
    )

"""KPIs per domain against the targets, and the campaign facts a report states."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from pingan.adapters.db.assessments import AssessmentRow
from pingan.adapters.db.campaigns import DomainRow, GateRow
from pingan.adapters.db.obligations import ObligationRow
from pingan.adapters.db.reporting.common import (
    active_cells,
    count_if,
    domain_keys,
    overdue,
    submission_gates,
)
from pingan.adapters.db.status import (
    awarded_by_domain,
    covered_units,
    latest_rounds,
    obligation_domain_expr,
)
from pingan.adapters.db.units import DomainUnitRow, UnitRow
from pingan.adapters.render.report.data import DomainReport
from pingan.core.campaign import Campaign
from pingan.core.scoring import DomainKpi, kpis, overall


def overdue_by_domain(session: Session, campaign_id: int, as_of: date) -> dict[str, int]:
    """{domain key: late, unsubmitted items} over active units; items of no domain are left
    out."""
    keys = domain_keys(session, campaign_id)
    dom = obligation_domain_expr().label("dom")
    out: dict[str, int] = {}
    for dom_id, n in session.execute(
        select(dom, func.count())
        .select_from(ObligationRow)
        .join(UnitRow, UnitRow.id == ObligationRow.unit_id)
        .where(
            ObligationRow.campaign_id == campaign_id,
            UnitRow.status == "active",
            submission_gates(campaign_id),
            overdue(as_of),
        )
        .group_by(dom)
    ):
        if dom_id in keys:
            out[keys[dom_id]] = int(n)
    return out


def _cells_query(campaign_id: int) -> Any:
    return (
        select(UnitRow.domain_id, func.count())
        .where(*active_cells(campaign_id))
        .group_by(UnitRow.domain_id)
    )


def _covered_query(campaign: Campaign, campaign_id: int, as_of: date) -> Any:
    coverage_gate = select(GateRow.id).where(
        GateRow.campaign_id == campaign_id, GateRow.key == campaign.targets.coverage_gate
    )
    return (
        select(UnitRow.domain_id, func.count())
        .where(
            *active_cells(campaign_id),
            UnitRow.id.in_(covered_units(campaign_id, coverage_gate.scalar_subquery(), as_of)),
        )
        .group_by(UnitRow.domain_id)
    )


def _assessed_query(campaign_id: int, as_of: date) -> Any:
    """(domain, assessed, passed, vetoed) by each cell's latest round."""
    latest = latest_rounds(campaign_id, as_of)
    return (
        select(
            UnitRow.domain_id,
            func.count(),
            count_if(AssessmentRow.passed),
            count_if(AssessmentRow.vetoed),
        )
        .join(AssessmentRow, AssessmentRow.unit_id == UnitRow.id)
        .join(
            latest,
            and_(latest.c.unit_id == AssessmentRow.unit_id, latest.c.round == AssessmentRow.round),
        )
        .where(*active_cells(campaign_id))
        .group_by(UnitRow.domain_id)
    )


def domain_reports(
    session: Session, campaign: Campaign, campaign_id: int, as_of: date
) -> tuple[tuple[DomainReport, ...], DomainKpi]:
    """KPIs per domain vs the targets (pingan.core.scoring's arithmetic), and the whole
    campaign's."""
    keys = domain_keys(session, campaign_id)

    def per_domain(query: Any) -> dict[str, tuple[int, ...]]:
        return {keys[row[0]]: tuple(int(v) for v in row[1:]) for row in session.execute(query)}

    cells = per_domain(_cells_query(campaign_id))
    covered = per_domain(_covered_query(campaign, campaign_id, as_of))
    assessed = per_domain(_assessed_query(campaign_id, as_of))
    awarded = per_domain(awarded_by_domain(campaign_id, as_of))
    red = overdue_by_domain(session, campaign_id, as_of)
    names = {u.code: u.name for u in campaign.units}
    out = []
    for d in campaign.domains:
        a, p, v = assessed.get(d.key, (0, 0, 0))
        c, cov = cells.get(d.key, (0,))[0], covered.get(d.key, (0,))[0]
        out.append(
            DomainReport(
                key=d.key,
                name=d.name,
                lead=names.get(d.lead, d.lead),
                kpi=kpis(c, cov, a, p, v, campaign.targets_for(d.key)),
                awarded=awarded.get(d.key, (0,))[0],
                overdue=red.get(d.key, 0),
            )
        )
    return tuple(out), overall((r.kpi for r in out), campaign.targets)


def assessment_opens_on(campaign: Campaign) -> date | None:
    days = [campaign.gate_opens_on(g) for g in campaign.gates if g.evidence == "assessment"]
    return min(days, default=None)


def current_phase(campaign: Campaign, as_of: date) -> str | None:
    for p in campaign.phases:
        if p.starts_on <= as_of <= p.ends_on:
            return p.name
    return None


def lead_units(session: Session, campaign_id: int) -> dict[int, list[str]]:
    """{unit id: keys of the domains it leads} for active lead units."""
    out: dict[int, list[str]] = {}
    for uid, key in session.execute(
        select(DomainUnitRow.unit_id, DomainRow.key)
        .join(DomainRow, DomainRow.id == DomainUnitRow.domain_id)
        .join(UnitRow, UnitRow.id == DomainUnitRow.unit_id)
        .where(
            DomainRow.campaign_id == campaign_id,
            DomainUnitRow.role == "lead",
            UnitRow.status == "active",
        )
        .order_by(DomainRow.id)
    ):
        out.setdefault(uid, []).append(key)
    return out

"""What a leader's live view adds to the report's queries: coverage and pass rate per
village, and the trend since the campaign began — for the whole campaign or one domain.

Set-based: a few GROUP BY queries whatever the number of cells; the trend groups cells by
the day they were first covered (or first passed), and only the days are walked in Python.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import and_, func, select, union_all
from sqlalchemy.orm import Session, aliased

from pingan.adapters.db.assessments import AssessmentRow
from pingan.adapters.db.campaigns import DomainRow, GateRow
from pingan.adapters.db.obligations import ObligationRow
from pingan.adapters.db.reporting.common import active_cells, count_if
from pingan.adapters.db.status import covered_units, latest_rounds
from pingan.adapters.db.units import UnitRow
from pingan.core.campaign import Campaign
from pingan.core.scoring import DomainKpi, kpis


@dataclass(frozen=True)
class VillageKpi:
    name: str
    kpi: DomainKpi


@dataclass(frozen=True)
class Trend:
    """Per day from the campaign's start: cells covered and cells passed, cumulative."""

    days: tuple[date, ...]
    cells: int
    covered: tuple[int, ...]
    passed: tuple[int, ...]


@dataclass(frozen=True)
class Scope:
    """Whose view: the whole campaign (domain None) or one domain, as of a day."""

    campaign: Campaign
    campaign_id: int
    as_of: date
    domain: str | None = None


def _cells(scope: Scope, session: Session) -> tuple[Any, ...]:
    terms = active_cells(scope.campaign_id)
    if scope.domain is None:
        return terms
    domain_id = session.scalar(
        select(DomainRow.id).where(
            DomainRow.campaign_id == scope.campaign_id, DomainRow.key == scope.domain
        )
    )
    return (*terms, UnitRow.domain_id == domain_id)


def _coverage_gate(scope: Scope) -> Any:
    return (
        select(GateRow.id)
        .where(
            GateRow.campaign_id == scope.campaign_id,
            GateRow.key == scope.campaign.targets.coverage_gate,
        )
        .scalar_subquery()
    )


def village_kpis(session: Session, scope: Scope) -> tuple[VillageKpi, ...]:
    """Coverage and pass rate of each village's cells (in the scope) against the targets,
    weakest pass rate first; cells of no village under the campaign's own heading."""
    cid, terms = scope.campaign_id, _cells(scope, session)
    village = UnitRow.village_id
    cells = dict(
        session.execute(select(village, func.count()).where(*terms).group_by(village)).all()
    )
    covered_ids = covered_units(cid, _coverage_gate(scope), scope.as_of)
    covered = dict(
        session.execute(
            select(village, func.count())
            .where(*terms, UnitRow.id.in_(covered_ids))
            .group_by(village)
        ).all()
    )
    latest = latest_rounds(cid, scope.as_of)
    assessed = {
        v: (int(a), int(p), int(x))
        for v, a, p, x in session.execute(
            select(
                village,
                func.count(),
                count_if(AssessmentRow.passed),
                count_if(AssessmentRow.vetoed),
            )
            .join(AssessmentRow, AssessmentRow.unit_id == UnitRow.id)
            .join(
                latest,
                and_(
                    latest.c.unit_id == AssessmentRow.unit_id, latest.c.round == AssessmentRow.round
                ),
            )
            .where(*terms)
            .group_by(village)
        )
    }
    place = aliased(UnitRow)
    names = dict(
        session.execute(
            select(place.id, place.name).where(place.id.in_([v for v in cells if v is not None]))
        ).all()
    )
    targets = scope.campaign.targets_for(scope.domain)
    out = [
        VillageKpi(
            names.get(v, scope.campaign.wording.direct)
            if v is not None
            else scope.campaign.wording.direct,
            kpis(int(n), int(covered.get(v, 0)), *assessed.get(v, (0, 0, 0)), targets),
        )
        for v, n in cells.items()
    ]
    return tuple(
        sorted(out, key=lambda k: (k.kpi.pass_rate is None, k.kpi.pass_rate or 0.0, k.name))
    )


def trend(session: Session, scope: Scope) -> Trend:
    """Cells covered and passed, cumulative, on every day from the campaign's start."""
    cid, terms = scope.campaign_id, _cells(scope, session)
    scoped = select(UnitRow.id).where(*terms)
    reported = select(
        ObligationRow.unit_id.label("unit_id"), ObligationRow.done_on.label("day")
    ).where(
        ObligationRow.gate_id == _coverage_gate(scope),
        ObligationRow.done_on.is_not(None),
        ObligationRow.unit_id.in_(scoped),
    )
    assessed = select(
        AssessmentRow.unit_id.label("unit_id"), AssessmentRow.assessed_on.label("day")
    ).where(AssessmentRow.campaign_id == cid, AssessmentRow.unit_id.in_(scoped))
    firsts = union_all(reported, assessed).subquery()
    first_covered = (
        select(firsts.c.unit_id, func.min(firsts.c.day).label("day"))
        .group_by(firsts.c.unit_id)
        .subquery()
    )
    first_passed = (
        select(AssessmentRow.unit_id, func.min(AssessmentRow.assessed_on).label("day"))
        .where(
            AssessmentRow.campaign_id == cid,
            AssessmentRow.passed,
            AssessmentRow.unit_id.in_(scoped),
        )
        .group_by(AssessmentRow.unit_id)
        .subquery()
    )
    cells = int(session.scalar(select(func.count()).select_from(scoped.subquery())) or 0)
    start = scope.campaign.starts_on
    end = max(start, scope.as_of)
    days = tuple(start + timedelta(days=i) for i in range((end - start).days + 1))

    def cumulative(sub: Any) -> tuple[int, ...]:
        per_day = Counter(
            {
                d: int(n)
                for d, n in session.execute(select(sub.c.day, func.count()).group_by(sub.c.day))
            }
        )
        total = sum(n for d, n in per_day.items() if d < start)
        out = []
        for d in days:
            total += per_day.get(d, 0)
            out.append(total)
        return tuple(out)

    return Trend(days, cells, cumulative(first_covered), cumulative(first_passed))

"""Campaign progress as of a date: KPIs per domain, obligations per status, outbox states.

Coverage (创建覆盖率) = active cells with an accepted submission for the coverage gate by the
date ÷ active cells; pass rate (达标率) = passed cells ÷ covered cells. Each figure is one
GROUP BY over the whole campaign.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import func, select, union
from sqlalchemy.orm import Session

from pingan.adapters.db.assessments import AssessmentRow, AwardRow
from pingan.adapters.db.campaigns import DomainRow, GateRow
from pingan.adapters.db.deliveries import count_by_state, delivery_counts
from pingan.adapters.db.notifications import NOTIFICATION_STATES, NotificationRow
from pingan.adapters.db.obligations import ObligationRow
from pingan.adapters.db.receipts import receipts
from pingan.adapters.db.session import pg_setting
from pingan.adapters.db.units import DomainUnitRow, UnitRow, inactive_units
from pingan.core.campaign import Campaign, Targets
from pingan.core.gates import COLOURS, STATUSES

OTHER = "_other"


def _ratio(num: int, den: int) -> float | None:
    return round(num / den, 4) if den else None


def led_domain_expr() -> Any:
    """The domain a unit (``UnitRow``, correlated) leads, if any."""
    return (
        select(DomainUnitRow.domain_id)
        .where(DomainUnitRow.unit_id == UnitRow.id, DomainUnitRow.role == "lead")
        .limit(1)
        .scalar_subquery()
    )


def obligation_domain_expr() -> Any:
    """Cells belong to their domain; a lead unit's own items to the domain it leads."""
    return func.coalesce(UnitRow.domain_id, led_domain_expr())


def status_counts(session: Session, campaign_id: int) -> dict[str, dict[str, int]]:
    """{domain key or "_other": {status: n}} over active units, domains in id order after
    "_other" (what grouping by obligation_domain_expr() gave on SQLite).

    Each item carries its domain (obligation.domain_id, kept in step by the load), so the
    count is one aggregate over the campaign's obligations, without a join to unit; the
    items of withdrawn units (few) are then taken off: those units found by
    ix_unit_withdrawn, their items by ix_obligation_unit_id."""
    keys: dict[int | None, str] = dict(
        session.execute(
            select(DomainRow.id, DomainRow.key).where(DomainRow.campaign_id == campaign_id)
        ).all()
    )
    per = (ObligationRow.domain_id, ObligationRow.status)
    gone = (
        select(*per, func.count())
        .where(
            ObligationRow.campaign_id == campaign_id,
            ObligationRow.unit_id.in_(inactive_units(campaign_id)),
        )
        .group_by(*per)
    )
    with pg_setting(session, "jit", "off"):
        totals = _all_items(session, campaign_id, [k for k in keys if k is not None])
        for dom_id, status, n in session.execute(gone):
            dom = dom_id if dom_id in keys else None
            # Outside one snapshot (READ COMMITTED, or a reader without a transaction) a
            # tick may commit between the two reads: never fail or go below zero for it.
            totals[(dom, status)] = totals.get((dom, status), 0) - int(n)
    out: dict[str, dict[str, int]] = {}
    for (dom_id, status), n in sorted(
        totals.items(), key=lambda kv: (kv[0][0] is not None, kv[0][0] or 0)
    ):
        if n > 0:  # a group with items of withdrawn units only is no group
            out.setdefault(keys.get(dom_id, OTHER), {s: 0 for s in STATUSES})[status] += n
    return out


def _all_items(
    session: Session, campaign_id: int, domain_ids: list[int]
) -> dict[tuple[int | None, str], int]:
    """{(domain id or None, status): n} over all the campaign's items, withdrawn or not;
    items of a domain not in ``domain_ids`` under None.

    PostgreSQL hashes GROUP BY (domain_id, status). SQLite sorts every row to group, and a
    sort on two keys costs nearly twice the one on status: there it groups by status alone
    and counts each domain in a FILTER (a comparison per domain and row, and a campaign has
    a handful of domains), the rest of each status being the domain-less items."""
    totals: dict[tuple[int | None, str], int] = {}
    mine = ObligationRow.campaign_id == campaign_id
    if session.get_bind().dialect.name != "sqlite":
        per = (ObligationRow.domain_id, ObligationRow.status)
        for dom_id, status, n in session.execute(
            select(*per, func.count()).where(mine).group_by(*per)
        ):
            dom = dom_id if dom_id in domain_ids else None
            totals[(dom, status)] = totals.get((dom, status), 0) + int(n)
        return totals
    each = [func.count().filter(ObligationRow.domain_id == d) for d in domain_ids]
    query = select(ObligationRow.status, func.count(), *each).where(mine)
    for status, total, *counts in session.execute(query.group_by(ObligationRow.status)):
        for dom_id, n in zip(domain_ids, counts, strict=True):
            totals[(dom_id, status)] = int(n)
        totals[(None, status)] = int(total) - sum(int(n) for n in counts)
    return totals


def awarded_by_domain(campaign_id: int, as_of: date) -> Any:
    """(domain_id, count) of awards in force on ``as_of``."""
    return (
        select(AwardRow.domain_id, func.count())
        .where(
            AwardRow.campaign_id == campaign_id,
            AwardRow.revoked_at.is_(None),
            AwardRow.issued_on <= as_of,
        )
        .group_by(AwardRow.domain_id)
    )


def latest_rounds(campaign_id: int, as_of: date | None = None) -> Any:
    """(unit_id, round) of the assessment that counts for each cell: the highest round
    assessed by ``as_of`` (any date when None) — a re-assessment (复查) replaces earlier ones."""
    q = select(AssessmentRow.unit_id, func.max(AssessmentRow.round).label("round")).where(
        AssessmentRow.campaign_id == campaign_id
    )
    if as_of is not None:
        q = q.where(AssessmentRow.assessed_on <= as_of)
    return q.group_by(AssessmentRow.unit_id).subquery()


def covered_units(campaign_id: int, coverage_gate: Any, as_of: date) -> Any:
    """Cells the campaign has reached by ``as_of``: they sent the coverage gate's report, or
    the assessment team assessed them. A cell assessed in person has plainly been covered,
    and counting it keeps passed ≤ covered, so the pass rate can never exceed 100%."""
    reported = select(ObligationRow.unit_id).where(
        ObligationRow.gate_id == coverage_gate,
        ObligationRow.done_on.is_not(None),
        ObligationRow.done_on <= as_of,
    )
    assessed = select(AssessmentRow.unit_id).where(
        AssessmentRow.campaign_id == campaign_id, AssessmentRow.assessed_on <= as_of
    )
    return union(reported, assessed).subquery().select()


@dataclass(frozen=True)
class _Counts:
    """{domain key: n} for each KPI input, as of the report date."""

    cells: dict[str, int]
    covered: dict[str, int]
    assessed: dict[str, int]
    passed: dict[str, int]
    awarded: dict[str, int]


def _assessed_and_passed(
    session: Session, campaign_id: int, as_of: date, domains: dict[int, str]
) -> tuple[dict[str, int], dict[str, int]]:
    """Cells assessed and passed per domain, by each cell's latest round."""
    latest = latest_rounds(campaign_id, as_of)
    query = (
        select(UnitRow.domain_id, AssessmentRow.passed, func.count())
        .join(AssessmentRow, AssessmentRow.unit_id == UnitRow.id)
        .join(
            latest,
            (latest.c.unit_id == AssessmentRow.unit_id) & (latest.c.round == AssessmentRow.round),
        )
        .where(*_active_cell(campaign_id))
        .group_by(UnitRow.domain_id, AssessmentRow.passed)
    )
    assessed: dict[str, int] = {}
    passed: dict[str, int] = {}
    for d, ok, n in session.execute(query):
        key = domains.get(d) if d is not None else None
        if key is None:
            continue
        assessed[key] = assessed.get(key, 0) + int(n)
        if ok:
            passed[key] = passed.get(key, 0) + int(n)
    return assessed, passed


def _active_cell(campaign_id: int) -> tuple[Any, ...]:
    return (
        UnitRow.campaign_id == campaign_id,
        UnitRow.kind == "cell",
        UnitRow.status == "active",
    )


def _counts(session: Session, campaign: Campaign, campaign_id: int, as_of: date) -> _Counts:
    domains = dict(
        session.execute(
            select(DomainRow.id, DomainRow.key).where(DomainRow.campaign_id == campaign_id)
        ).all()
    )
    active_cell = _active_cell(campaign_id)

    def per_domain(query: Any) -> dict[str, int]:
        return {domains[d]: int(n) for d, n in session.execute(query) if d in domains}

    coverage_gate = session.scalar(
        select(GateRow.id).where(
            GateRow.campaign_id == campaign_id, GateRow.key == campaign.targets.coverage_gate
        )
    )
    # Cells and covered cells in one scan of unit: the covered set (a UNION, so one row per
    # unit) outer-joined to the active cells.
    reached = covered_units(campaign_id, coverage_gate, as_of).subquery()
    cells: dict[str, int] = {}
    covered: dict[str, int] = {}
    for d, n, cov in session.execute(
        select(UnitRow.domain_id, func.count(), func.count(reached.c.unit_id))
        .outerjoin(reached, reached.c.unit_id == UnitRow.id)
        .where(*active_cell)
        .group_by(UnitRow.domain_id)
    ):
        if d in domains:
            cells[domains[d]] = int(n)
            if cov:
                covered[domains[d]] = int(cov)
    assessed, passed = _assessed_and_passed(session, campaign_id, as_of, domains)
    awarded = per_domain(awarded_by_domain(campaign_id, as_of))
    return _Counts(cells, covered, assessed, passed, awarded)


def _kpis(counts: _Counts, targets: Targets, key: str | None) -> dict[str, Any]:
    """The KPIs of one domain (``key``), or of the whole campaign (None)."""

    def pick(m: dict[str, int]) -> int:
        return m.get(key, 0) if key else sum(m.values())

    c, cov, a, p, w = (
        pick(m)
        for m in (counts.cells, counts.covered, counts.assessed, counts.passed, counts.awarded)
    )
    # How many more cells must pass for the pass-rate target, given today's coverage.
    shortfall = max(0, math.ceil(round(targets.pass_rate * cov, 6)) - p)
    return {
        "cells": c,
        "covered": cov,
        "assessed": a,
        "passed": p,
        "awarded": w,
        "coverage": _ratio(cov, c),
        # No assessment yet: nothing to divide, so no rate (the tables say 未验收), not 0.0.
        "pass_rate": _ratio(p, cov) if a else None,
        "coverage_met": cov >= c * targets.coverage if c else None,
        "pass_rate_met": p >= cov * targets.pass_rate if a and cov else None,
        "pass_shortfall": shortfall,
    }


def _by_colour(counts: dict[str, dict[str, int]]) -> dict[str, dict[str, int]]:
    by_colour: dict[str, dict[str, int]] = {}
    for key, per_status in counts.items():
        colours = by_colour.setdefault(key, {})
        for s, n in per_status.items():
            colour = COLOURS[s]  # type: ignore[index]  # statuses come from our own UPDATE
            colours[colour] = colours.get(colour, 0) + n
    return by_colour


def _notification_states(session: Session, campaign_id: int) -> dict[str, int]:
    return count_by_state(
        session,
        NotificationRow.state,
        (NotificationRow.campaign_id == campaign_id,),
        NOTIFICATION_STATES,
    )


def status_report(
    session: Session, campaign: Campaign, campaign_id: int, as_of: date
) -> dict[str, Any]:
    """The report, its aggregates without JIT on PostgreSQL: their estimates (statistics of
    tables a tick has just rewritten) pass jit_above_cost, 50-500 ms of compiling for a scan
    that takes less."""
    with pg_setting(session, "jit", "off"):
        return _status_report(session, campaign, campaign_id, as_of)


def _status_report(
    session: Session, campaign: Campaign, campaign_id: int, as_of: date
) -> dict[str, Any]:
    kpi_counts = _counts(session, campaign, campaign_id, as_of)
    targets = campaign.targets
    counts = status_counts(session, campaign_id)
    totals = {s: sum(d.get(s, 0) for d in counts.values()) for s in STATUSES}
    by_colour = _by_colour(counts)
    notif = _notification_states(session, campaign_id)
    return {
        "campaign": campaign.code,
        "name": campaign.name,
        "as_of": as_of.isoformat(),
        "targets": {"coverage": targets.coverage, "pass_rate": targets.pass_rate},
        "overall": _kpis(kpi_counts, targets, None),
        "domains": {
            d.key: {
                "name": d.name,
                **_kpis(kpi_counts, campaign.targets_for(d.key), d.key),
                "obligations": counts.get(d.key, {}),
            }
            for d in campaign.domains
        },
        "obligations": totals,
        "obligations_by_colour": by_colour,
        "notifications": notif,
        "deliveries": delivery_counts(session, campaign_id),
        "receipts": receipts(session, campaign_id),
    }

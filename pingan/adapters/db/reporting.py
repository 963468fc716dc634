"""What a progress report (and the weekly bulletin) says about a campaign as of a date.

Read-only and set-based: a handful of GROUP BY queries whatever the number of cells. Every
status is derived from the obligations' own dates (opens_on, due_on, done_on, waived) by the
rules of pingan.core.gates, not read from the columns the tick last wrote, so a report for any
past date says what was true that day and never needs an evaluation to run first. A waiver
carries no date, so a waived item counts as waived on every day of the history.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, exists, false, func, or_, select
from sqlalchemy.orm import Session, aliased

from pingan.adapters.db.assessments import AssessmentRow, AssessmentScoreRow, AwardRow
from pingan.adapters.db.campaigns import DomainRow, GateRow, WorkdayRow
from pingan.adapters.db.deliveries import DeliveryRow
from pingan.adapters.db.evaluate import CalendarNotLoaded
from pingan.adapters.db.notifications import NotificationRow
from pingan.adapters.db.obligations import ObligationRow
from pingan.adapters.db.status import covered_units, latest_rounds, obligation_domain_expr
from pingan.adapters.db.units import DomainUnitRow, UnitRow
from pingan.adapters.render.report.data import (
    NO_CHANNEL,
    Burndown,
    ChannelCount,
    DomainReport,
    FailedCell,
    RedItem,
    ReportData,
    VillageLate,
)
from pingan.core.campaign import Campaign
from pingan.core.gates import STATUSES, TARGET_LABELS, Ladder, Status, status_of
from pingan.core.problems import InputError, Problem
from pingan.core.scoring import DomainKpi, kpis, overall

# Groups for items that belong to no domain or no village.
VILLAGE_OWN = "村（社区）"
STREET_UNITS = "街道各单位"
STREET_DIRECT = "街道直属单位"


# --- building blocks ----------------------------------------------------------------------


def _overdue(as_of: date) -> Any:
    """gates.status_of(...) == "overdue", as SQL over the obligation's own dates."""
    return and_(
        ~ObligationRow.waived,
        or_(ObligationRow.done_on.is_(None), ObligationRow.done_on > as_of),
        ObligationRow.due_on < as_of,
    )


def _submission_gates(campaign_id: int) -> Any:
    """Gates a unit submits files for. An assessment gate is the assessment team's work,
    never escalated to the cell; it is reported apart from "late, not submitted"."""
    return ObligationRow.gate_id.in_(
        select(GateRow.id).where(GateRow.campaign_id == campaign_id, GateRow.evidence == "files")
    )


def _done_late(as_of: date) -> Any:
    return and_(
        ~ObligationRow.waived,
        ObligationRow.done_on <= as_of,
        ObligationRow.done_on > ObligationRow.due_on,
    )


def _count_if(condition: Any) -> Any:
    # SUM(CASE …) rather than COUNT(*) FILTER: SQLite before 3.30 has no FILTER.
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _ordinals(session: Session, campaign_id: int, as_of: date) -> dict[date, int]:
    rows = session.execute(
        select(WorkdayRow.day, WorkdayRow.ordinal).where(WorkdayRow.campaign_id == campaign_id)
    ).all()
    if not rows or as_of > max(d for d, _ in rows):
        last = max((d for d, _ in rows), default=None)
        raise InputError([Problem("参数", "as_of", str(CalendarNotLoaded(as_of, last)))])
    return {d: int(o) for d, o in rows}


def _domain_keys(session: Session, campaign_id: int) -> dict[int, str]:
    return dict(
        session.execute(
            select(DomainRow.id, DomainRow.key).where(DomainRow.campaign_id == campaign_id)
        ).all()
    )


def _active_cells(campaign_id: int) -> tuple[Any, ...]:
    return (
        UnitRow.campaign_id == campaign_id,
        UnitRow.kind == "cell",
        UnitRow.status == "active",
    )


def overdue_by_domain(session: Session, campaign_id: int, as_of: date) -> dict[str, int]:
    """{domain key: late, unsubmitted items} over active units; items of no domain are left
    out."""
    keys = _domain_keys(session, campaign_id)
    dom = obligation_domain_expr().label("dom")
    out: dict[str, int] = {}
    for dom_id, n in session.execute(
        select(dom, func.count())
        .select_from(ObligationRow)
        .join(UnitRow, UnitRow.id == ObligationRow.unit_id)
        .where(
            ObligationRow.campaign_id == campaign_id,
            UnitRow.status == "active",
            _submission_gates(campaign_id),
            _overdue(as_of),
        )
        .group_by(dom)
    ):
        if dom_id in keys:
            out[keys[dom_id]] = int(n)
    return out


def domain_reports(
    session: Session, campaign: Campaign, campaign_id: int, as_of: date
) -> tuple[tuple[DomainReport, ...], DomainKpi]:
    """KPIs per domain vs the targets (pingan.core.scoring's arithmetic), and the whole
    campaign's."""
    keys = _domain_keys(session, campaign_id)

    def per_domain(query: Any) -> dict[str, tuple[int, ...]]:
        return {keys[row[0]]: tuple(int(v) for v in row[1:]) for row in session.execute(query)}

    cells = per_domain(
        select(UnitRow.domain_id, func.count())
        .where(*_active_cells(campaign_id))
        .group_by(UnitRow.domain_id)
    )
    coverage_gate = select(GateRow.id).where(
        GateRow.campaign_id == campaign_id, GateRow.key == campaign.targets.coverage_gate
    )
    covered = per_domain(
        select(UnitRow.domain_id, func.count())
        .where(
            *_active_cells(campaign_id),
            UnitRow.id.in_(covered_units(campaign_id, coverage_gate.scalar_subquery(), as_of)),
        )
        .group_by(UnitRow.domain_id)
    )
    latest = latest_rounds(campaign_id, as_of)
    assessed = per_domain(
        select(
            UnitRow.domain_id,
            func.count(),
            _count_if(AssessmentRow.passed),
            _count_if(AssessmentRow.vetoed),
        )
        .join(AssessmentRow, AssessmentRow.unit_id == UnitRow.id)
        .join(
            latest,
            and_(latest.c.unit_id == AssessmentRow.unit_id, latest.c.round == AssessmentRow.round),
        )
        .where(*_active_cells(campaign_id))
        .group_by(UnitRow.domain_id)
    )
    awarded = per_domain(
        select(AwardRow.domain_id, func.count())
        .where(
            AwardRow.campaign_id == campaign_id,
            AwardRow.revoked_at.is_(None),
            AwardRow.issued_on <= as_of,
        )
        .group_by(AwardRow.domain_id)
    )
    red = overdue_by_domain(session, campaign_id, as_of)
    names = {u.code: u.name for u in campaign.units}
    out = []
    for d in campaign.domains:
        a, p, v = assessed.get(d.key, (0, 0, 0))
        out.append(
            DomainReport(
                key=d.key,
                name=d.name,
                lead=names.get(d.lead, d.lead),
                kpi=kpis(
                    cells.get(d.key, (0,))[0],
                    covered.get(d.key, (0,))[0],
                    a,
                    p,
                    v,
                    campaign.targets,
                ),
                awarded=awarded.get(d.key, (0,))[0],
                overdue=red.get(d.key, 0),
            )
        )
    return tuple(out), overall((r.kpi for r in out), campaign.targets)


def burndown(
    session: Session,
    campaign: Campaign,
    campaign_id: int,
    as_of: date,
    ordinals: Mapping[date, int] | None = None,
) -> Burndown:
    """Per day from the first phase's start to as_of: obligations per status (just as_of
    when the report is dated before the campaign starts).

    One GROUP BY collapses the obligations to their distinct date patterns (a few per gate
    and completion day, whatever the number of cells); gates.status_of, the specification
    the tick's UPDATE follows, then classifies each pattern on each day.
    """
    ords = ordinals if ordinals is not None else _ordinals(session, campaign_id, as_of)
    start = min(campaign.starts_on, as_of)
    days = tuple(start + timedelta(days=i) for i in range((as_of - start).days + 1))
    # A completion after as_of is no completion in the window: fold those into one group.
    done = case((ObligationRow.done_on <= as_of, ObligationRow.done_on), else_=None).label("done")
    groups = session.execute(
        select(
            ObligationRow.opens_on, ObligationRow.due_on, done, ObligationRow.waived, func.count()
        )
        .select_from(ObligationRow)
        .join(UnitRow, UnitRow.id == ObligationRow.unit_id)
        .where(ObligationRow.campaign_id == campaign_id, UnitRow.status == "active")
        .group_by(ObligationRow.opens_on, ObligationRow.due_on, done, ObligationRow.waived)
    ).all()
    window = max(campaign.reminders.days_before)
    series: dict[Status, list[int]] = {s: [0] * len(days) for s in STATUSES}
    day_ords = [ords.get(d, 0) for d in days]
    for opens_on, due_on, done_on, waived, n in groups:
        due_ord = ords.get(due_on, 0)
        done_day = _as_date(done_on)
        for i, d in enumerate(days):
            s = status_of(
                as_of=d,
                opens_on=opens_on,
                due_on=due_on,
                done_on=done_day,
                waived=bool(waived),
                wd_offset=day_ords[i] - due_ord,
                window=window,
            )
            series[s][i] += int(n)
    return Burndown(days, {s: tuple(v) for s, v in series.items()})


def _as_date(value: Any) -> date | None:
    # A CASE expression loses the column type: SQLite hands the date back as text.
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def late_by_village(session: Session, campaign_id: int, as_of: date) -> tuple[VillageLate, ...]:
    """Late items (still overdue, or submitted late) per village or community.

    A cell counts in its village, a village's own items in itself, and the street's units
    (lead units, the coordinator) under one "街道直属单位" line. Most overdue first.
    """
    place = case((UnitRow.kind == "village", UnitRow.id), else_=UnitRow.village_id).label("place")
    rows = session.execute(
        select(place, _count_if(_overdue(as_of)), _count_if(_done_late(as_of)))
        .select_from(ObligationRow)
        .join(UnitRow, UnitRow.id == ObligationRow.unit_id)
        .where(
            ObligationRow.campaign_id == campaign_id,
            UnitRow.status == "active",
            _submission_gates(campaign_id),
            or_(_overdue(as_of), _done_late(as_of)),
        )
        .group_by(place)
    ).all()
    villages = {
        vid: (code, name)
        for vid, code, name in session.execute(
            select(UnitRow.id, UnitRow.code, UnitRow.name).where(
                UnitRow.campaign_id == campaign_id, UnitRow.kind == "village"
            )
        )
    }
    out = []
    for vid, overdue_n, late_n in rows:
        code, name = villages.get(vid, (None, STREET_DIRECT))
        out.append(VillageLate(code, name, int(overdue_n), int(late_n)))
    out.sort(key=lambda v: (-v.overdue, -v.done_late, v.code or "~"))
    return tuple(out)


def notification_counts(
    session: Session, campaign_id: int, as_of: date
) -> tuple[tuple[ChannelCount, ...], dict[str, int]]:
    """(deliveries per channel and state, notifications per kind) for messages planned by
    as_of. A notification with no delivery at all (no usable contact, or not yet expanded)
    is counted once under NO_CHANNEL with its own state."""
    planned = and_(NotificationRow.campaign_id == campaign_id, NotificationRow.planned_on <= as_of)
    counts = [
        ChannelCount(channel, state, int(n))
        for channel, state, n in session.execute(
            select(DeliveryRow.channel, DeliveryRow.state, func.count())
            .join(NotificationRow, NotificationRow.id == DeliveryRow.notification_id)
            .where(planned)
            .group_by(DeliveryRow.channel, DeliveryRow.state)
        )
    ]
    counts += [
        ChannelCount(NO_CHANNEL, state, int(n))
        for state, n in session.execute(
            select(NotificationRow.state, func.count())
            .where(planned, ~exists().where(DeliveryRow.notification_id == NotificationRow.id))
            .group_by(NotificationRow.state)
        )
    ]
    counts.sort(key=lambda c: (c.channel, c.state))
    kinds = {
        kind: int(n)
        for kind, n in session.execute(
            select(NotificationRow.kind, func.count())
            .where(planned)
            .group_by(NotificationRow.kind)
            .order_by(NotificationRow.kind)
        )
    }
    return tuple(counts), kinds


def red_items(
    session: Session,
    campaign: Campaign,
    campaign_id: int,
    as_of: date,
    ordinals: Mapping[date, int] | None = None,
) -> tuple[RedItem, ...]:
    """Every overdue item on as_of with its working days overdue and ladder level: late
    submissions first (longest overdue first), then cells not assessed in time."""
    ords = ordinals if ordinals is not None else _ordinals(session, campaign_id, as_of)
    ladder = Ladder.of(campaign)
    keys = _domain_keys(session, campaign_id)
    domain_names = {d.key: d.name for d in campaign.domains}
    village = aliased(UnitRow)
    dom = obligation_domain_expr().label("dom")
    rows = session.execute(
        select(
            dom,
            UnitRow.kind,
            UnitRow.code,
            UnitRow.name,
            village.name.label("village"),
            GateRow.name.label("gate"),
            GateRow.evidence,
            ObligationRow.due_on,
        )
        .select_from(ObligationRow)
        .join(UnitRow, UnitRow.id == ObligationRow.unit_id)
        .join(GateRow, GateRow.id == ObligationRow.gate_id)
        .outerjoin(village, village.id == UnitRow.village_id)
        .where(
            ObligationRow.campaign_id == campaign_id,
            UnitRow.status == "active",
            _overdue(as_of),
        )
        .order_by(ObligationRow.due_on, dom, village.code, UnitRow.code, GateRow.id)
    ).all()
    today = ords.get(as_of, 0)
    rung: dict[int, str] = {}
    out = []
    for r in rows:
        days = max(today - ords.get(r.due_on, today), 0)
        level = ladder.level_for(days)
        if r.kind == "village":
            domain, place = VILLAGE_OWN, r.name
        elif r.dom in keys:
            domain, place = domain_names.get(keys[r.dom], keys[r.dom]), r.village or STREET_DIRECT
        else:
            domain, place = STREET_UNITS, STREET_DIRECT
        assessment = r.evidence == "assessment"
        if level not in rung:
            rung[level] = reached(ladder, level)
        target = rung[level]
        told = TARGET_LABELS[target] if target else "—"
        out.append(
            RedItem(
                domain=domain,
                village=place,
                unit_code=r.code,
                unit_name=r.name,
                gate=r.gate,
                due_on=r.due_on,
                days_overdue=days,
                level=0 if assessment else level,  # the tick escalates no assessment item
                target="" if assessment else target,
                told="考核组办理（不发督办）" if assessment else told,
                assessment=assessment,
            )
        )
    # Late submissions first, longest overdue first; stable, so the SQL order breaks ties.
    out.sort(key=lambda i: (i.assessment, -i.days_overdue))
    return tuple(out)


def reached(ladder: Ladder, level: int) -> str:
    """The highest rung told so far at ``level`` (coordinator > lead > contact; "" at 0).

    After the ladder has run once it starts again at the contact, but the coordinator
    already knows: "reported to" is cumulative, not the rung of the latest message.
    """
    told = {ladder.target(k) for k in range(1, min(level, len(ladder.steps)) + 1)}
    return next((t for t in ("coordinator", "lead", "contact") if t in told), "")


def overdue_totals(
    session: Session, campaign: Campaign, campaign_id: int, as_of: date
) -> tuple[int, int]:
    """(late, unsubmitted items, of which the ladder has reached the coordinator) over active
    units."""
    ladder = Ladder.of(campaign)
    first = ladder.first_level("coordinator")
    today = session.scalar(
        select(WorkdayRow.ordinal).where(
            WorkdayRow.campaign_id == campaign_id, WorkdayRow.day == as_of
        )
    )
    at_top = (
        WorkdayRow.ordinal <= int(today or 0) - ladder.threshold(first)
        if first is not None
        else false()
    )
    total, top = session.execute(
        select(func.count(), _count_if(at_top))
        .select_from(ObligationRow)
        .join(UnitRow, UnitRow.id == ObligationRow.unit_id)
        .outerjoin(
            WorkdayRow,
            and_(WorkdayRow.campaign_id == campaign_id, WorkdayRow.day == ObligationRow.due_on),
        )
        .where(
            ObligationRow.campaign_id == campaign_id,
            UnitRow.status == "active",
            _submission_gates(campaign_id),
            _overdue(as_of),
        )
    ).one()
    return int(total), int(top)


def failed_cells(
    session: Session, campaign: Campaign, campaign_id: int, as_of: date
) -> tuple[FailedCell, ...]:
    """Active cells whose latest round by as_of failed, vetoed ones first, with the reasons."""
    latest = latest_rounds(campaign_id, as_of)
    village = aliased(UnitRow)
    rows = session.execute(
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
            and_(latest.c.unit_id == AssessmentRow.unit_id, latest.c.round == AssessmentRow.round),
        )
        .join(UnitRow, UnitRow.id == AssessmentRow.unit_id)
        .join(DomainRow, DomainRow.id == UnitRow.domain_id)
        .outerjoin(village, village.id == UnitRow.village_id)
        .where(*_active_cells(campaign_id), ~AssessmentRow.passed)
        .order_by(DomainRow.id, village.code, UnitRow.code)
    ).all()
    vetoes: dict[int, list[str]] = {}
    vetoed_ids = [r.id for r in rows if r.vetoed]
    for i in range(0, len(vetoed_ids), 5000):
        for aid, key in session.execute(
            select(AssessmentScoreRow.assessment_id, AssessmentScoreRow.item_key)
            .where(
                AssessmentScoreRow.assessment_id.in_(vetoed_ids[i : i + 5000]),
                AssessmentScoreRow.item_key.like("v:%"),
            )
            .order_by(AssessmentScoreRow.assessment_id, AssessmentScoreRow.item_key)
        ):
            vetoes.setdefault(aid, []).append(key[2:])
    out = []
    for r in rows:
        d = campaign.domain(r.domain)
        veto_names = {v.key: v.name for v in d.rubric.vetoes}
        reasons = [f"一票否决：{veto_names.get(k, k)}" for k in vetoes.get(r.id, [])]
        if r.vetoed and not reasons:
            reasons.append("一票否决")
        if r.total < d.rubric.pass_mark - 1e-9:
            mark = _points(d.rubric.pass_mark)
            reasons.append(f"得分 {_points(r.total)} 分，低于达标分 {mark} 分")
        out.append(
            FailedCell(
                domain=d.name,
                village=r.village or STREET_DIRECT,
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
        )
    out.sort(key=lambda c: not c.vetoed)  # stable: vetoed first, then the SQL order
    return tuple(out)


def _points(x: float) -> str:
    return f"{round(x, 2):.2f}".rstrip("0").rstrip(".")


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


# --- the whole report ---------------------------------------------------------------------


def gather(
    session: Session, campaign: Campaign, campaign_id: int, as_of: date, now: datetime
) -> ReportData:
    """Everything the report shows, as of ``as_of``; ``now`` is the local time stamped on it."""
    ords = _ordinals(session, campaign_id, as_of)
    domains, total = domain_reports(session, campaign, campaign_id, as_of)
    burn = burndown(session, campaign, campaign_id, as_of, ords)
    channels, kinds = notification_counts(session, campaign_id, as_of)
    office = campaign.coordinator.office
    return ReportData(
        campaign_code=campaign.code,
        campaign_name=campaign.name,
        short_name=campaign.short_name or campaign.name,
        issuer=campaign.issuer,
        coordinator=campaign.coordinator.name,
        office=office.name if office else campaign.coordinator.name,
        as_of=as_of,
        generated_at=now,
        phase=current_phase(campaign, as_of),
        phases=tuple((p.name, p.starts_on, p.ends_on) for p in campaign.phases),
        ladder=tuple((s.after, TARGET_LABELS[s.notify]) for s in campaign.escalation.ladder),
        repeat_every=campaign.escalation.repeat_every,
        starts_on=campaign.starts_on,
        ends_on=campaign.ends_on,
        assessment_opens_on=assessment_opens_on(campaign),
        coverage_target=campaign.targets.coverage,
        pass_rate_target=campaign.targets.pass_rate,
        domains=domains,
        overall=total,
        awarded=sum(d.awarded for d in domains),
        obligations=burn.on(as_of),
        burndown=burn,
        late_by_village=late_by_village(session, campaign_id, as_of),
        notifications=channels,
        notification_kinds=kinds,
        red_items=red_items(session, campaign, campaign_id, as_of, ords),
        failed_cells=failed_cells(session, campaign, campaign_id, as_of),
    )


__all__ = [
    "NO_CHANNEL",
    "Burndown",
    "ChannelCount",
    "DomainReport",
    "FailedCell",
    "RedItem",
    "ReportData",
    "VillageLate",
    "burndown",
    "domain_reports",
    "failed_cells",
    "gather",
    "late_by_village",
    "lead_units",
    "notification_counts",
    "overdue_by_domain",
    "overdue_totals",
    "reached",
    "red_items",
]

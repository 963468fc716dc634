"""Overdue items on the report date: each with its working days overdue and how far up the
escalation ladder it has gone."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import and_, false, func, select
from sqlalchemy.orm import Session, aliased

from pingan.adapters.db.campaigns import GateRow, WorkdayRow
from pingan.adapters.db.obligations import ObligationRow
from pingan.adapters.db.reporting.common import (
    count_if,
    domain_keys,
    overdue,
    submission_gates,
    workday_ordinals,
)
from pingan.adapters.db.status import obligation_domain_expr
from pingan.adapters.db.units import UnitRow
from pingan.adapters.render.report.data import RedItem
from pingan.core.campaign import Campaign, Wording
from pingan.core.gates import Ladder


@dataclass(frozen=True)
class _Context:
    """What turns an overdue row into a RedItem: the same for every row of one report."""

    ladder: Ladder
    keys: Mapping[int, str]  # domain id -> key
    domain_names: Mapping[str, str]  # domain key -> name
    ords: Mapping[date, int]  # day -> working-day ordinal
    today: int  # as_of's ordinal
    wording: Wording  # the organisation's headings for ungrouped units
    rungs: dict[int, str] = field(default_factory=dict)  # level -> reached(), filled lazily


def _overdue_rows(session: Session, campaign_id: int, as_of: date) -> list[Any]:
    village = aliased(UnitRow)
    dom = obligation_domain_expr().label("dom")
    return list(
        session.execute(
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
                overdue(as_of),
            )
            .order_by(ObligationRow.due_on, dom, village.code, UnitRow.code, GateRow.id)
        ).all()
    )


def _red_item(ctx: _Context, r: Any) -> RedItem:
    days = max(ctx.today - ctx.ords.get(r.due_on, ctx.today), 0)
    level = ctx.ladder.level_for(days)
    if r.kind == "village":
        domain, place = ctx.wording.grouping, r.name
    elif r.dom in ctx.keys:
        key = ctx.keys[r.dom]
        domain, place = ctx.domain_names.get(key, key), r.village or ctx.wording.direct
    else:
        domain, place = ctx.wording.own_units, ctx.wording.direct
    assessment = r.evidence == "assessment"
    if level not in ctx.rungs:
        ctx.rungs[level] = reached(ctx.ladder, level)
    target = ctx.rungs[level]
    told = ctx.wording.target_label(target) if target else "—"
    return RedItem(
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


def red_items(
    session: Session,
    campaign: Campaign,
    campaign_id: int,
    as_of: date,
    ordinals: Mapping[date, int] | None = None,
) -> tuple[RedItem, ...]:
    """Every overdue item on as_of with its working days overdue and ladder level: late
    submissions first (longest overdue first), then cells not assessed in time."""
    ords = ordinals if ordinals is not None else workday_ordinals(session, campaign_id, as_of)
    ctx = _Context(
        ladder=Ladder.of(campaign),
        keys=domain_keys(session, campaign_id),
        domain_names={d.key: d.name for d in campaign.domains},
        wording=campaign.wording,
        ords=ords,
        today=ords.get(as_of, 0),
    )
    out = [_red_item(ctx, r) for r in _overdue_rows(session, campaign_id, as_of)]
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
        select(func.count(), count_if(at_top))
        .select_from(ObligationRow)
        .join(UnitRow, UnitRow.id == ObligationRow.unit_id)
        .outerjoin(
            WorkdayRow,
            and_(WorkdayRow.campaign_id == campaign_id, WorkdayRow.day == ObligationRow.due_on),
        )
        .where(
            ObligationRow.campaign_id == campaign_id,
            UnitRow.status == "active",
            submission_gates(campaign_id),
            overdue(as_of),
        )
    ).one()
    return int(total), int(top)

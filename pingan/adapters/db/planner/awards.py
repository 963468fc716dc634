"""Award notices: each awarded cell hears of its own award, each lead unit gets one list per
run.

A cell's notice is planned with INSERT … SELECT over the run's awards and rendered on first
delivery from the award it names (pingan.adapters.db.messages), which no later state
changes. A lead unit's list names the awards of this run, so it is rendered now: a few rows.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import literal, select
from sqlalchemy.orm import Session

from pingan.adapters.db.assessments import AwardRow
from pingan.adapters.db.base import utcnow
from pingan.adapters.db.campaigns import DomainRow
from pingan.adapters.db.messages import message_common
from pingan.adapters.db.planner.rows import Planning, insert_planned, sql_key, text_key
from pingan.adapters.db.units import UnitRow
from pingan.adapters.render.messages import render
from pingan.core.awards import AwardListing, issuer_name
from pingan.core.campaign import Campaign

KIND = "award"
CHUNK = 5000  # award ids per statement: a run can award 90,000 cells
LEAD_LIST_ITEMS = 50


def plan_award_notices(
    session: Session,
    campaign: Campaign,
    campaign_id: int,
    awards: Sequence[AwardListing],
    today: date,
) -> int:
    """Plan the notices of the awards of one run (``awards`` in listing order); how many
    were new. Dedupe keys make a re-run plan nothing twice."""
    if not awards:
        return 0
    planning = Planning(campaign_id, today, utcnow())
    planned = 0
    ids = [a.id for a in awards]
    for i in range(0, len(ids), CHUNK):
        planned += _plan_cells(session, planning, ids[i : i + CHUNK])
    return planned + _plan_lead_lists(session, campaign, planning, awards)


def _plan_cells(session: Session, planning: Planning, award_ids: Sequence[int]) -> int:
    key = sql_key(KIND, AwardRow.id)
    source = (
        select(*planning.columns(key, KIND, literal(0), AwardRow.unit_id))
        .select_from(AwardRow)
        .join(DomainRow, DomainRow.id == AwardRow.domain_id)
        .where(AwardRow.id.in_(award_ids))
        .order_by(DomainRow.key, AwardRow.seq)
    )
    return insert_planned(session, planning, source)


def _plan_lead_lists(
    session: Session, campaign: Campaign, planning: Planning, awards: Sequence[AwardListing]
) -> int:
    per_lead: dict[str, list[AwardListing]] = defaultdict(list)
    for a in awards:
        per_lead[campaign.domain(a.domain).lead].append(a)
    lead_ids = dict(
        session.execute(
            select(UnitRow.code, UnitRow.id).where(
                UnitRow.campaign_id == planning.campaign_id, UnitRow.code.in_(sorted(per_lead))
            )
        ).all()
    )
    common = {
        **message_common(campaign, planning.planned_on),
        "coordinator": issuer_name(campaign, campaign.coordinator.name),
    }
    rows: list[dict[str, Any]] = []
    for lead, items in per_lead.items():
        if lead not in lead_ids:
            continue
        ctx = {
            **common,
            "recipient": {"name": issuer_name(campaign, items[0].lead_unit)},
            "title": items[0].title,
            "count": len(items),
            "items": items[:LEAD_LIST_ITEMS],
            "more": max(len(items) - LEAD_LIST_ITEMS, 0),
        }
        text = render(KIND, ctx, campaign.templates_dir, ("lead",))
        key = text_key("award-lead", lead, min(a.id for a in items))
        rows.append(planning.rendered(key, KIND, 1, lead_ids[lead], text))
    return insert_planned(session, planning, rows)

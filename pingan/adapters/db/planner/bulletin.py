"""The weekly bulletin (周通报): one message per lead unit and the coordinator per ISO week.

Unlike reminders, whose text is rendered at send time, a bulletin is rendered when it is
planned: it reports the figures of the day the report was made, and the outbox sends the
stored subject and body as they are. The dedupe key (campaign, ISO week, recipient) makes a
second run in the same week — or two at once — plan nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from pingan.adapters.db.base import utcnow
from pingan.adapters.db.messages import message_common
from pingan.adapters.db.notifications import NotificationRow
from pingan.adapters.db.planner.rows import Planning, insert_planned, text_key
from pingan.adapters.db.reporting import (
    assessment_opens_on,
    domain_reports,
    lead_units,
    overdue_totals,
)
from pingan.adapters.db.units import UnitRow
from pingan.adapters.render.messages import render
from pingan.adapters.render.report.data import DomainReport, acceptance_note, pct
from pingan.core.campaign import Campaign
from pingan.core.scoring import DomainKpi

KIND = "bulletin"


@dataclass(frozen=True)
class BulletinPlan:
    week: str  # ISO week, e.g. "2017-W44"
    recipients: int
    planned: int  # new outbox rows; 0 when this week's bulletin was already planned


def iso_week(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def _figures(k: DomainKpi) -> dict[str, Any]:
    """Pre-formatted numbers: the template stays free of arithmetic and formatting."""
    return {
        "cells": f"{k.cells:,}",
        "covered": f"{k.covered:,}",
        "coverage": pct(k.coverage),
        "coverage_met": k.coverage_met,
        "coverage_gap": k.coverage_shortfall,
        "assessed": k.assessed,
        "passed": f"{k.passed:,}",
        "vetoed": k.vetoed,
        "pass_rate": pct(k.pass_rate) if k.assessed else "未验收",
        "pass_rate_met": k.pass_rate_met if k.assessed else None,
        "pass_gap": k.shortfall if k.assessed else 0,
    }


def _domain(d: DomainReport) -> dict[str, Any]:
    return {"name": d.name, "lead": d.lead, "overdue": d.overdue, **_figures(d.kpi)}


def _week_label(day: date) -> str:
    year, week, weekday = day.isocalendar()
    monday = day - timedelta(days=weekday - 1)
    sunday = monday + timedelta(days=6)
    return f"{year}年第{week}周，{monday.month}月{monday.day}日至{sunday.month}月{sunday.day}日"


def _shared_context(
    session: Session,
    campaign: Campaign,
    campaign_id: int,
    as_of: date,
    report: Mapping[str, str | None],
) -> tuple[tuple[DomainReport, ...], dict[str, Any]]:
    """The domains' figures, and what every recipient's bulletin shares (the caller adds the
    recipient's own part)."""
    domains, total = domain_reports(session, campaign, campaign_id, as_of)
    red_total, red_top = overdue_totals(session, campaign, campaign_id, as_of)
    return domains, {
        **message_common(campaign, as_of),
        "coordinator": campaign.coordinator.name,
        "week": _week_label(as_of),
        "targets": {
            "coverage": pct(campaign.targets.coverage),
            "pass_rate": pct(campaign.targets.pass_rate),
        },
        "overall": _figures(total),
        "acceptance": acceptance_note(as_of, assessment_opens_on(campaign)),
        "all_domains": [_domain(d) for d in domains],
        "red_total": red_total,
        "red_top": red_top,
        "report": dict(report),
    }


def plan_bulletin(
    session: Session,
    campaign: Campaign,
    campaign_id: int,
    as_of: date,
    *,
    html: Path,
    xlsx: Path,
    link: str | None = None,
    templates_dir: Path | None = None,
) -> BulletinPlan:
    """Queue this week's bulletin for every active lead unit and the coordinator."""
    week = iso_week(as_of)
    leads = lead_units(session, campaign_id)
    recipients = _recipients(session, campaign_id, leads)
    keys = {r.id: text_key(KIND, campaign.code, week, r.code) for r in recipients}
    planned_before = set(
        session.scalars(
            select(NotificationRow.dedupe_key).where(
                NotificationRow.dedupe_key.in_(list(keys.values()) or [""]),
                NotificationRow.obligation_id.is_(None),  # the key's (partial) index
            )
        )
    )
    todo = [r for r in recipients if keys[r.id] not in planned_before]
    if not todo:
        return BulletinPlan(week, len(recipients), 0)
    report = {"html": str(html), "xlsx": str(xlsx), "link": link}
    domains, shared = _shared_context(session, campaign, campaign_id, as_of, report)
    override = str(templates_dir) if templates_dir else None
    planning = Planning(campaign_id, as_of, utcnow())
    rows = []
    for r in todo:
        is_coordinator = r.kind == "coordinator"
        led = set(leads.get(r.id, ()))
        ctx = {
            **shared,
            "recipient": {"name": r.name, "code": r.code},
            "is_coordinator": is_coordinator,
            "domains": [_domain(d) for d in domains if is_coordinator or d.key in led],
        }
        text = render(KIND, ctx, override, ("coordinator" if is_coordinator else "lead",))
        rows.append(planning.rendered(keys[r.id], KIND, 0, r.id, text))
    return BulletinPlan(week, len(recipients), insert_planned(session, planning, rows))


def _recipients(
    session: Session, campaign_id: int, leads: Mapping[int, Sequence[str]]
) -> Sequence[Any]:
    """Active lead units and the coordinator, the coordinator first."""
    return session.execute(
        select(UnitRow.id, UnitRow.code, UnitRow.name, UnitRow.kind)
        .where(
            UnitRow.campaign_id == campaign_id,
            UnitRow.status == "active",
            (UnitRow.kind == "coordinator") | UnitRow.id.in_(list(leads) or [-1]),
        )
        .order_by(UnitRow.kind != "coordinator", UnitRow.code)
    ).all()

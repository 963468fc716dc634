"""The weekly bulletin (周通报): one message per lead unit and the coordinator per ISO week.

Unlike reminders, whose text is rendered at send time, a bulletin is rendered when it is
planned: it reports the figures of the day the report was made, and the outbox sends the
stored subject and body as they are. The dedupe key (campaign, ISO week, recipient) and
ON CONFLICT DO NOTHING make a second run in the same week — or two at once — plan nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from pingan.adapters.db.base import table, utcnow
from pingan.adapters.db.bulk import insert_or_ignore, rowcount
from pingan.adapters.db.messages import message_common
from pingan.adapters.db.notifications import NotificationRow
from pingan.adapters.db.reporting import (
    assessment_opens_on,
    domain_reports,
    lead_units,
    overdue_totals,
)
from pingan.adapters.db.units import UnitRow
from pingan.adapters.render.messages import render
from pingan.adapters.render.report.data import DomainReport, acceptance_note, area_word, pct
from pingan.core.campaign import Campaign
from pingan.core.scoring import DomainKpi

KIND = "bulletin"
SUBJECT_LIMIT = 500


@dataclass(frozen=True)
class BulletinPlan:
    week: str  # ISO week, e.g. "2017-W44"
    recipients: int
    planned: int  # new outbox rows; 0 when this week's bulletin was already planned


def iso_week(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def dedupe_key(campaign_code: str, day: date, unit_code: str) -> str:
    return f"bulletin:{campaign_code}:{iso_week(day)}:{unit_code}"


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


def bulletin_context(
    campaign: Campaign,
    as_of: date,
    domains: tuple[DomainReport, ...],
    total: DomainKpi,
    red: tuple[int, int],
    *,
    html: Path,
    xlsx: Path,
    link: str | None,
) -> dict[str, Any]:
    """What every recipient's bulletin shares; the caller adds the recipient's own part."""
    return {
        **message_common(campaign, as_of),
        "coordinator": campaign.coordinator.name,
        "area": area_word(campaign.coordinator.name, campaign.issuer),
        "week": _week_label(as_of),
        "targets": {
            "coverage": pct(campaign.targets.coverage),
            "pass_rate": pct(campaign.targets.pass_rate),
        },
        "overall": _figures(total),
        "acceptance": acceptance_note(as_of, assessment_opens_on(campaign)),
        "all_domains": [_domain(d) for d in domains],
        "red_total": red[0],
        "red_top": red[1],
        "report": {"html": str(html), "xlsx": str(xlsx), "link": link},
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
    recipients = session.execute(
        select(UnitRow.id, UnitRow.code, UnitRow.name, UnitRow.kind)
        .where(
            UnitRow.campaign_id == campaign_id,
            UnitRow.status == "active",
            (UnitRow.kind == "coordinator") | UnitRow.id.in_(list(leads) or [-1]),
        )
        .order_by(UnitRow.kind != "coordinator", UnitRow.code)
    ).all()
    keys = {r.id: dedupe_key(campaign.code, as_of, r.code) for r in recipients}
    planned_before = set(
        session.scalars(
            select(NotificationRow.dedupe_key).where(
                NotificationRow.dedupe_key.in_(list(keys.values()) or [""])
            )
        )
    )
    todo = [r for r in recipients if keys[r.id] not in planned_before]
    if not todo:
        return BulletinPlan(week, len(recipients), 0)
    domains, total = domain_reports(session, campaign, campaign_id, as_of)
    shared = bulletin_context(
        campaign,
        as_of,
        domains,
        total,
        overdue_totals(session, campaign, campaign_id, as_of),
        html=html,
        xlsx=xlsx,
        link=link,
    )
    override = str(templates_dir) if templates_dir else None
    now = utcnow()
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
        variant = "coordinator" if is_coordinator else "lead"
        subject, body = render(KIND, ctx, override, (variant,))
        rows.append(
            {
                "campaign_id": campaign_id,
                "dedupe_key": keys[r.id],
                "kind": KIND,
                "level": 0,
                "recipient_unit_id": r.id,
                "obligation_id": None,
                "planned_on": as_of,
                "subject": subject[:SUBJECT_LIMIT],
                "body": body,
                "state": "queued",
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
            }
        )
    stmt = (
        insert_or_ignore(session, table(NotificationRow))
        .values(rows)
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
    )
    planned = rowcount(session.execute(stmt, execution_options={"preserve_rowcount": True}))
    return BulletinPlan(week, len(recipients), planned)

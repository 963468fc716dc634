"""Gather what a planned notification must say, and render it (for preview and delivery)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session, aliased

from pingan.adapters.db.campaigns import DomainRow, GateRow
from pingan.adapters.db.links import FIRST_VERSION, PortalLinkRow
from pingan.adapters.db.notifications import NotificationRow
from pingan.adapters.db.obligations import ObligationRow
from pingan.adapters.db.units import UnitRow
from pingan.adapters.render.messages import render
from pingan.core.campaign import Campaign
from pingan.core.gates import TARGET_LABELS, Ladder
from pingan.core.links import PortalSettings, personal_link

DIGEST_ITEMS_PER_VILLAGE = 20


@dataclass(frozen=True)
class RenderedMessage:
    notification_id: int
    recipient_unit_id: int
    recipient_code: str
    recipient_name: str
    kind: str
    level: int
    subject: str
    body: str


def message_common(campaign: Campaign, today: date) -> dict[str, Any]:
    """What every message template may use: campaign, office, how to submit, today."""
    office = campaign.coordinator.office
    return {
        "campaign": {
            "short": campaign.short_name or campaign.name,
            "name": campaign.name,
            "document": campaign.document or campaign.name,
        },
        "office": {
            "name": office.name if office else campaign.coordinator.name,
            "phone": office.phone if office else None,
            "email": office.email if office else None,
        },
        "how_to_submit": campaign.how_to_submit or "将材料按“材料类别/单位编码/文件”放入报送目录",
        "today": today,
    }


def _next_rung(
    ladder: Ladder, level: int, days_overdue: int, supervisor: str | None
) -> tuple[str | None, int | None]:
    """Who hears of it next, and when — unless that day has already passed."""
    nxt = level + 1
    try:
        after = ladder.threshold(nxt)
    except ValueError:
        return None, None
    if after <= days_overdue:
        return None, None
    target = ladder.target(nxt)
    label = supervisor if target == "lead" and supervisor else TARGET_LABELS[target]
    return label, after


def link_moment(day: date, tz: str) -> datetime:
    """The moment a message's personal link is signed for: the start of the day the message
    speaks of, so a message renders to the same text whenever it is rendered."""
    return datetime.combine(day, time(0, 0), tzinfo=ZoneInfo(tz))


def render_notifications(
    session: Session,
    campaign: Campaign,
    campaign_id: int,
    ids: Sequence[int],
    today: date,
    templates_dir: Path | None = None,
    portal: PortalSettings | None = None,
) -> list[RenderedMessage]:
    """Render planned notifications. Each text addressed to a unit (not the coordinator)
    carries the unit's personal portal link (``portal_link``) when the portal's base URL
    and secret are configured (portal, default the PINGAN_* settings); else it is None."""
    if not ids:
        return []
    if portal is None:
        from pingan.settings import get_settings

        portal = get_settings()
    override = str(templates_dir) if templates_dir else None
    ladder = Ladder.of(campaign)
    common = message_common(campaign, today)
    recipient = aliased(UnitRow)
    supervisor = aliased(UnitRow)
    rows = session.execute(
        select(
            NotificationRow.id,
            NotificationRow.kind,
            NotificationRow.level,
            NotificationRow.recipient_unit_id,
            NotificationRow.planned_on,
            recipient.code,
            recipient.name,
            recipient.kind.label("recipient_kind"),
            GateRow.name.label("gate_name"),
            ObligationRow.due_on,
            ObligationRow.wd_offset,
            supervisor.name.label("supervisor_name"),
            func.coalesce(PortalLinkRow.version, FIRST_VERSION).label("link_version"),
        )
        .join(recipient, recipient.id == NotificationRow.recipient_unit_id)
        .outerjoin(PortalLinkRow, PortalLinkRow.unit_id == recipient.id)
        .outerjoin(ObligationRow, ObligationRow.id == NotificationRow.obligation_id)
        .outerjoin(GateRow, GateRow.id == ObligationRow.gate_id)
        .outerjoin(supervisor, supervisor.id == recipient.supervisor_id)
        .where(NotificationRow.id.in_(list(ids)))
        .order_by(NotificationRow.recipient_unit_id, NotificationRow.id)
    ).all()
    out: list[RenderedMessage] = []
    for r in rows:
        # A message speaks of the day it was planned for, even when sent later.
        common = {**common, "today": r.planned_on or today}
        link = (
            None
            if r.recipient_kind == "coordinator"  # it owes nothing: its page would be empty
            else personal_link(
                campaign.code,
                r.code,
                r.link_version,
                link_moment(common["today"], campaign.timezone),
                portal,
            )
        )
        common["portal_link"] = link
        if r.kind == "digest":
            ctx = {
                **common,
                **digest_context(session, campaign_id, ladder, r.recipient_unit_id),
                "recipient": {"name": r.name},
            }
        else:
            next_target, next_after = _next_rung(
                ladder, r.level, max(r.wd_offset, 0), r.supervisor_name
            )
            ctx = {
                **common,
                "unit": {"name": r.name, "code": r.code},
                "gate": {"name": r.gate_name},
                "due_on": r.due_on,
                "days_left": max(-r.wd_offset, 0),
                "days_overdue": max(r.wd_offset, 0),
                "level": r.level,
                "supervisor": {"name": r.supervisor_name or common["office"]["name"]},
                "next_target": next_target,
                "next_after": next_after,
            }
        variants: tuple[str, ...] = ()
        if r.kind == "escalation":
            # After the whole ladder has run once the coordinator already knows: say so.
            variants = (str(r.level), "repeat" if r.level > len(ladder.steps) else "first")
        elif r.kind == "digest":
            variants = ("coordinator" if ctx.get("is_coordinator") else "lead",)
        subject, body = render(r.kind, ctx, override, variants)
        out.append(
            RenderedMessage(
                r.id, r.recipient_unit_id, r.code, r.name, r.kind, r.level, subject, body
            )
        )
    return out


def digest_context(
    session: Session, campaign_id: int, ladder: Ladder, recipient_id: int
) -> dict[str, Any]:
    """Every overdue item that has reached this recipient's rung, by domain and village."""
    unit = aliased(UnitRow)
    village = aliased(UnitRow)
    is_coordinator = (
        session.scalar(select(UnitRow.kind).where(UnitRow.id == recipient_id)) == "coordinator"
    )
    lead_level = ladder.first_level("lead")
    coord_level = ladder.first_level("coordinator")
    conditions = []
    if lead_level is not None:
        conditions.append(
            and_(unit.supervisor_id == recipient_id, ObligationRow.escalation_level >= lead_level)
        )
    if is_coordinator and coord_level is not None:
        conditions.append(ObligationRow.escalation_level >= coord_level)
    if not conditions:
        conditions.append(unit.id == -1)
    rows = session.execute(
        select(
            DomainRow.name.label("domain"),
            village.name.label("village"),
            unit.name.label("unit"),
            GateRow.name.label("gate"),
            ObligationRow.due_on,
            ObligationRow.days_overdue,
            ObligationRow.escalation_level,
            unit.id.label("unit_id"),
            unit.kind.label("unit_kind"),
        )
        .join(unit, unit.id == ObligationRow.unit_id)
        .join(GateRow, GateRow.id == ObligationRow.gate_id)
        .outerjoin(DomainRow, DomainRow.id == unit.domain_id)
        .outerjoin(village, village.id == unit.village_id)
        .where(
            ObligationRow.campaign_id == campaign_id,
            ObligationRow.status == "overdue",
            unit.status == "active",
            or_(*conditions),
        )
        .order_by(DomainRow.id, village.code, ObligationRow.days_overdue.desc(), unit.code)
    ).all()
    grouped: dict[str, dict[str, list[Any]]] = defaultdict(lambda: defaultdict(list))
    flat: list[dict[str, Any]] = []
    for r in rows:
        if r.domain:
            dname, vname = r.domain, r.village or "街道直属"
        elif r.unit_kind == "village":
            dname, vname = "村（社区）", r.unit
        else:
            dname, vname = "街道各单位", "街道直属"
        grouped[dname][vname].append(r)
        flat.append(
            {
                "domain": dname,
                "village": vname,
                "unit": r.unit,
                "gate": r.gate,
                "due_on": r.due_on,
                "days_overdue": r.days_overdue,
                "level": r.escalation_level,
            }
        )
    domains: list[dict[str, Any]] = []
    for dname, villages in grouped.items():
        vlist: list[dict[str, Any]] = []
        for vname, items in villages.items():
            shown = items[:DIGEST_ITEMS_PER_VILLAGE]
            vlist.append(
                {
                    "name": vname,
                    "total": len(items),
                    "more": len(items) - len(shown),
                    "entries": [
                        {
                            "unit": i.unit,
                            "gate": i.gate,
                            "due_on": i.due_on,
                            "days_overdue": i.days_overdue,
                            "level": i.escalation_level,
                        }
                        for i in shown
                    ],
                }
            )
        domains.append({"name": dname, "total": sum(v["total"] for v in vlist), "villages": vlist})
    return {
        "is_coordinator": is_coordinator,
        "total": len(rows),
        "unit_count": len({r.unit_id for r in rows}),
        "new_count": 0,
        "domains": domains,
        "items": flat,  # every item, for the attached list (the body shows the first few)
    }

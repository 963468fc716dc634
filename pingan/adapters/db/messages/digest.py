"""A digest's content: every overdue item that has reached the recipient's rung, grouped by
domain and village, each marked when its unit has not seen (签收) its latest reminder or
escalation."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session, aliased

from pingan.adapters.db.campaigns import DomainRow, GateRow, WorkdayRow
from pingan.adapters.db.links import LinkViewRow
from pingan.adapters.db.notifications import NotificationRow
from pingan.adapters.db.obligations import ObligationRow
from pingan.adapters.db.units import UnitRow
from pingan.core.campaign import Wording
from pingan.core.gates import Ladder

DIGEST_ITEMS_PER_VILLAGE = 20


@dataclass(frozen=True)
class _Scope:
    """Whose digest, and the day it speaks of."""

    campaign_id: int
    ladder: Ladder
    recipient_id: int
    is_coordinator: bool
    as_of: date


def digest_context(
    session: Session,
    campaign_id: int,
    ladder: Ladder,
    recipient_id: int,
    as_of: date,
    wording: Wording,
) -> dict[str, Any]:
    """Every item overdue on ``as_of`` (the day the digest speaks of) that had reached this
    recipient's rung by then, by domain and village, with that day's figures — so a digest
    sent days later still tells the story of its own day."""
    is_coordinator = (
        session.scalar(select(UnitRow.kind).where(UnitRow.id == recipient_id)) == "coordinator"
    )
    scope = _Scope(campaign_id, ladder, recipient_id, is_coordinator, as_of)
    rows = _overdue_items(session, scope)
    grouped: dict[str, dict[str, list[Any]]] = defaultdict(lambda: defaultdict(list))
    flat: list[dict[str, Any]] = []
    for r in rows:
        dname, vname = _place(r, wording)
        grouped[dname][vname].append(r)
        flat.append({"domain": dname, "village": vname, **_entry(r)})
    domains: list[dict[str, Any]] = []
    for dname, villages in grouped.items():
        vlist = [_village(vname, items) for vname, items in villages.items()]
        domains.append({"name": dname, "total": sum(v["total"] for v in vlist), "villages": vlist})
    return {
        "is_coordinator": is_coordinator,
        "total": len(rows),
        "unit_count": len({r.unit_id for r in rows}),
        "new_count": 0,
        "domains": domains,
        "items": flat,  # every item, for the attached list (the body shows the first few)
    }


def _overdue_items(session: Session, scope: _Scope) -> list[Any]:
    unit = aliased(UnitRow)
    village = aliased(UnitRow)
    due_wd = aliased(WorkdayRow)
    ladder = scope.ladder
    then = select(WorkdayRow.ordinal).where(
        WorkdayRow.campaign_id == scope.campaign_id, WorkdayRow.day == scope.as_of
    )
    offset = then.scalar_subquery() - due_wd.ordinal
    conditions = []
    lead_level = ladder.first_level("lead")
    coord_level = ladder.first_level("coordinator")
    if lead_level is not None:
        conditions.append(
            and_(unit.supervisor_id == scope.recipient_id, offset >= ladder.threshold(lead_level))
        )
    if scope.is_coordinator and coord_level is not None:
        conditions.append(offset >= ladder.threshold(coord_level))
    if not conditions:
        conditions.append(unit.id == -1)
    told = _told(scope)
    unseen = and_(
        told.c.sent_at.is_not(None),
        or_(LinkViewRow.last_at.is_(None), LinkViewRow.last_at < told.c.sent_at),
    )
    rows = session.execute(
        select(
            DomainRow.name.label("domain"),
            village.name.label("village"),
            unit.name.label("unit"),
            GateRow.name.label("gate"),
            ObligationRow.due_on,
            offset.label("days_overdue"),
            unit.id.label("unit_id"),
            unit.kind.label("unit_kind"),
            case((unseen, True), else_=False).label("unseen"),
        )
        .join(unit, unit.id == ObligationRow.unit_id)
        .outerjoin(told, told.c.unit_id == unit.id)
        .outerjoin(LinkViewRow, LinkViewRow.unit_id == unit.id)
        .join(GateRow, GateRow.id == ObligationRow.gate_id)
        .join(
            due_wd,
            and_(due_wd.campaign_id == scope.campaign_id, due_wd.day == ObligationRow.due_on),
        )
        .outerjoin(DomainRow, DomainRow.id == unit.domain_id)
        .outerjoin(village, village.id == unit.village_id)
        .where(
            ObligationRow.campaign_id == scope.campaign_id,
            # Overdue on as_of is overdue or done late today (statuses only move forward);
            # the status narrows the scan to what the index finds.
            ObligationRow.status.in_(("overdue", "done_late")),
            ObligationRow.due_on < scope.as_of,
            or_(ObligationRow.done_on.is_(None), ObligationRow.done_on > scope.as_of),
            ~ObligationRow.waived,
            unit.status == "active",
            or_(*conditions),
        )
        .order_by(DomainRow.id, village.code, offset.desc(), unit.code)
    ).all()
    return [_Item(**r._mapping, level=ladder.level_for(int(r.days_overdue))) for r in rows]


def _told(scope: _Scope) -> Any:
    """Per unit, when its latest reminder or escalation up to the digest's day was sent;
    for a lead unit's digest only the units it supervises are looked at."""
    terms = [
        NotificationRow.campaign_id == scope.campaign_id,
        NotificationRow.kind.in_(("reminder", "escalation")),
        NotificationRow.state == "sent",
        NotificationRow.planned_on <= scope.as_of,
    ]
    if not scope.is_coordinator:
        # A reminder's or escalation's recipient is its obligation's unit: the supervised
        # units' obligations (by their unit index) find the messages by the item key. The
        # recipient index covers only rows without an obligation.
        supervised = select(UnitRow.id).where(UnitRow.supervisor_id == scope.recipient_id)
        items = select(ObligationRow.id).where(ObligationRow.unit_id.in_(supervised))
        terms.append(NotificationRow.obligation_id.in_(items))
    return (
        select(
            NotificationRow.recipient_unit_id.label("unit_id"),
            func.max(NotificationRow.sent_at).label("sent_at"),
        )
        .where(*terms)
        .group_by(NotificationRow.recipient_unit_id)
        .subquery()
    )


@dataclass(frozen=True)
class _Item:
    domain: str | None
    village: str | None
    unit: str
    gate: str
    due_on: date
    days_overdue: int
    unit_id: int
    unit_kind: str
    unseen: bool  # its unit's latest reminder or escalation was sent and not yet seen
    level: int


def _place(r: Any, wording: Wording) -> tuple[str, str]:
    """The (domain, village) heading an item is listed under, in the organisation's words."""
    if r.domain:
        return r.domain, r.village or wording.direct
    if r.unit_kind == "village":
        return wording.grouping, r.unit
    return wording.own_units, wording.direct


def _entry(r: Any) -> dict[str, Any]:
    return {
        "unit": r.unit,
        "gate": r.gate,
        "due_on": r.due_on,
        "days_overdue": r.days_overdue,
        "level": r.level,
        "unseen": bool(r.unseen),
    }


def _village(name: str, items: list[Any]) -> dict[str, Any]:
    shown = items[:DIGEST_ITEMS_PER_VILLAGE]
    return {
        "name": name,
        "total": len(items),
        "more": len(items) - len(shown),
        "entries": [_entry(i) for i in shown],
    }

"""A digest's content: every overdue item that has reached the recipient's rung, grouped by
domain and village."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session, aliased

from pingan.adapters.db.campaigns import DomainRow, GateRow
from pingan.adapters.db.obligations import ObligationRow
from pingan.adapters.db.units import UnitRow
from pingan.core.campaign import Wording
from pingan.core.gates import Ladder

DIGEST_ITEMS_PER_VILLAGE = 20


def digest_context(
    session: Session, campaign_id: int, ladder: Ladder, recipient_id: int, wording: Wording
) -> dict[str, Any]:
    """Every overdue item that has reached this recipient's rung, by domain and village."""
    is_coordinator = (
        session.scalar(select(UnitRow.kind).where(UnitRow.id == recipient_id)) == "coordinator"
    )
    rows = _overdue_items(session, campaign_id, ladder, recipient_id, is_coordinator)
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


def _overdue_items(
    session: Session, campaign_id: int, ladder: Ladder, recipient_id: int, is_coordinator: bool
) -> Sequence[Any]:
    unit = aliased(UnitRow)
    village = aliased(UnitRow)
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
    return session.execute(
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
        "level": r.escalation_level,
    }


def _village(name: str, items: list[Any]) -> dict[str, Any]:
    shown = items[:DIGEST_ITEMS_PER_VILLAGE]
    return {
        "name": name,
        "total": len(items),
        "more": len(items) - len(shown),
        "entries": [_entry(i) for i in shown],
    }

"""Test oracle: the tick's planning as it was before issue 19 (one INSERT per reminder band
and per contact rung), kept verbatim to compare the new planner against.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import and_, func, literal, or_, select, true, update
from sqlalchemy.orm import Session

from pingan.adapters.db.base import table, utcnow
from pingan.adapters.db.campaigns import GateRow
from pingan.adapters.db.obligations import ObligationRow
from pingan.adapters.db.planner.rows import Planning, insert_planned, sql_key
from pingan.adapters.db.units import UnitRow
from pingan.core.campaign import Campaign
from pingan.core.gates import Ladder, reminder_bands

OB = table(ObligationRow).c
UN = table(UnitRow).c
TARGETS = ("contact", "lead", "coordinator")
OWED = table(ObligationRow).join(table(UnitRow), UN.id == OB.unit_id)


@dataclass
class PlanSummary:
    reminders: int = 0
    escalations: int = 0
    digests: int = 0
    by_level: dict[int, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return self.reminders + self.escalations + self.digests


@dataclass(frozen=True)
class _Tick:
    """One campaign's planning for one day: its rows, and which obligations are owed."""

    session: Session
    planning: Planning
    active: Any  # owed by an active unit, for a gate of files
    fresh: Any  # overdue and escalated past what was last announced

    @property
    def campaign_id(self) -> int:
        return self.planning.campaign_id


def plan_notifications(
    session: Session, campaign: Campaign, campaign_id: int, as_of: date
) -> PlanSummary:
    """Reminders before due dates, per-item escalations at the contact rung, and one digest
    per supervising unit per day for items at the lead and coordinator rungs."""
    # Assessment gates are the assessment team's work, tracked by the acceptance flow; the
    # cell being assessed is not reminded of them.
    file_gates = select(GateRow.id).where(
        GateRow.campaign_id == campaign_id, GateRow.evidence == "files"
    )
    active = and_(OB.campaign_id == campaign_id, UN.status == "active", OB.gate_id.in_(file_gates))
    fresh = and_(active, OB.status == "overdue", OB.escalation_level > OB.notified_level)
    tick = _Tick(session, Planning(campaign_id, as_of, utcnow()), active, fresh)
    ladder = Ladder.of(campaign)
    levels = _levels_by_target(tick, ladder)
    summary = PlanSummary(
        reminders=_plan_reminders(tick, campaign.reminders.days_before),
        escalations=_plan_escalations(tick, levels["contact"]),
        digests=_plan_digests(tick, levels),
    )
    summary.by_level.update(_announce(tick))
    return summary


def _plan_reminders(tick: _Tick, days_before: Any) -> int:
    planned = 0
    for step, low, high in reminder_bands(days_before):
        key = sql_key(tick.campaign_id, "r", OB.id, str(step))
        source = (
            select(*tick.planning.columns(key, "reminder", literal(step), OB.unit_id, OB.id))
            .select_from(OWED)
            .where(
                tick.active, OB.status == "due_soon", -OB.wd_offset >= low, -OB.wd_offset <= high
            )
        )
        planned += insert_planned(tick.session, tick.planning, source)
    return planned


def _levels_by_target(tick: _Tick, ladder: Ladder) -> dict[str, list[int]]:
    """The ladder's levels up to the highest reached today, by whom they address."""
    top = int(
        tick.session.scalar(
            select(func.coalesce(func.max(OB.escalation_level), 0))
            .select_from(OWED)
            .where(tick.fresh)
        )
        or 0
    )
    return {t: [k for k in range(1, top + 1) if ladder.target(k) == t] for t in TARGETS}


def _plan_escalations(tick: _Tick, contact: list[int]) -> int:
    """One message per item at the contact rung: the highest contact level reached."""
    planned = 0
    for i, k in enumerate(contact):
        below_next = OB.escalation_level < contact[i + 1] if i + 1 < len(contact) else true()
        key = sql_key(tick.campaign_id, "e", OB.id, str(k))
        source = (
            select(*tick.planning.columns(key, "escalation", literal(k), OB.unit_id, OB.id))
            .select_from(OWED)
            .where(tick.fresh, OB.escalation_level >= k, below_next, OB.notified_level < k)
        )
        planned += insert_planned(tick.session, tick.planning, source)
    return planned


def _plan_digests(tick: _Tick, levels: dict[str, list[int]]) -> int:
    """A digest goes to a supervisor when at least one item newly reached its rung today."""

    def reached(target: str) -> Any:
        """Some rung of ``target`` lies in (notified_level, escalation_level]: a tick that
        missed days still tells every rung it skipped, once."""
        ks = levels[target]
        if not ks:
            return literal(False)
        return or_(*(and_(OB.notified_level < k, OB.escalation_level >= k) for k in ks))

    coordinator_id = tick.session.scalar(
        select(UnitRow.id).where(
            UnitRow.campaign_id == tick.campaign_id, UnitRow.kind == "coordinator"
        )
    )
    lead_recipients = (
        select(UN.supervisor_id.label("rid"))
        .select_from(OWED)
        .where(tick.fresh, reached("lead"), UN.supervisor_id.is_not(None))
    )
    coord_recipients = (
        select(literal(coordinator_id).label("rid"))
        .select_from(OWED)
        .where(tick.fresh, reached("coordinator"))
    )
    rid = lead_recipients.union(coord_recipients).subquery().c.rid
    key = sql_key(tick.campaign_id, "d", rid, tick.planning.planned_on.isoformat())
    source = select(*tick.planning.columns(key, "digest", literal(0), rid)).where(rid.is_not(None))
    return insert_planned(tick.session, tick.planning, source)


def _announce(tick: _Tick) -> dict[int, int]:
    """Mark today's levels as announced; how many items reached each level."""
    # Count them per level for the summary first.
    by_level = {
        int(level): int(count)
        for level, count in tick.session.execute(
            select(OB.escalation_level, func.count())
            .select_from(OWED)
            .where(tick.fresh)
            .group_by(OB.escalation_level)
        )
    }
    active_units = select(UN.id).where(UN.campaign_id == tick.campaign_id, UN.status == "active")
    tick.session.execute(
        update(table(ObligationRow))
        .where(
            OB.campaign_id == tick.campaign_id,
            OB.status == "overdue",
            OB.escalation_level > OB.notified_level,
            OB.unit_id.in_(active_units),
        )
        .values(notified_level=OB.escalation_level)
    )
    return by_level

"""The tick's planning: reminders before due dates, per-item escalations at the contact
rung, and one digest per supervising unit per day for items at the lead and coordinator
rungs. A handful of set-based statements per campaign, whatever the number of cells; the
rules are those of pingan.core.gates.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import and_, case, exists, func, literal, select, update
from sqlalchemy.orm import Session

from pingan.adapters.db.base import table, utcnow
from pingan.adapters.db.campaigns import GateRow
from pingan.adapters.db.evaluate import tick_settings
from pingan.adapters.db.obligations import ObligationRow
from pingan.adapters.db.planner.rows import Planning, insert_planned, sql_key
from pingan.adapters.db.units import UnitRow, inactive_units
from pingan.core.campaign import Campaign
from pingan.core.gates import Ladder, reminder_bands

OB = table(ObligationRow).c
UN = table(UnitRow).c
TARGETS = ("contact", "lead", "coordinator")
# The planner reads a whole campaign: one scan of obligation. An item is owed while its unit
# is active; the few units that are not are found through their partial index
# (ix_unit_withdrawn) and their items left out, instead of looking up every item's unit
# (a million primary-key lookups at a million cells, 0.3 s on SQLite and 1–2 s on
# PostgreSQL per statement). Only the digests join unit, for the supervisor. "+ 0" keeps
# SQLite from driving these statements from an obligation index instead (a lookup per row,
# several times slower at a million rows); PostgreSQL plans them the same.
UNIT_OF = OB.unit_id + 0
OBLIGATIONS = table(ObligationRow)
OWED = OBLIGATIONS.join(table(UnitRow), UN.id == UNIT_OF)


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
    tick_settings(session)
    # Assessment gates are the assessment team's work, tracked by the acceptance flow; the
    # cell being assessed is not reminded of them. A campaign has a handful of gates: their
    # ids are a list, not a join the database might run once per obligation.
    file_gates = session.scalars(
        select(GateRow.id).where(GateRow.campaign_id == campaign_id, GateRow.evidence == "files")
    ).all()
    active = and_(
        OB.campaign_id == campaign_id,
        UNIT_OF.not_in(inactive_units(campaign_id)),
        (OB.gate_id + 0).in_(file_gates),
    )
    # The row's own columns first: SQLite tests the terms in the order given, and the
    # unit and gate lists cost a lookup per row (reminders at 1M cells: 0.31 → 0.13 s).
    fresh = and_(OB.status == "overdue", OB.escalation_level > OB.notified_level, active)
    tick = _Tick(session, Planning(campaign_id, as_of, utcnow()), active, fresh)
    by_level = _fresh_by_level(tick)
    levels = _levels_by_target(Ladder.of(campaign), max(by_level, default=0))
    summary = PlanSummary(
        reminders=_plan_reminders(tick, campaign.reminders.days_before),
        escalations=_plan_escalations(tick, levels["contact"]),
        digests=_plan_digests(tick, levels),
        by_level=by_level,
    )
    _announce(tick)
    return summary


def _highest_at_or_below(ks: list[int], level: Any) -> Any:
    """SQL: the highest of the levels ``ks`` at or below ``level`` (NULL when none)."""
    return case(*((level >= k, literal(k)) for k in sorted(ks, reverse=True)), else_=None)


def _plan_reminders(tick: _Tick, days_before: Any) -> int:
    """One INSERT for every band: each due-soon item gets the reminder of its band."""
    bands = reminder_bands(days_before)
    left = -OB.wd_offset
    step = case(*((and_(left >= low, left <= high), literal(s)) for s, low, high in bands))
    source = (
        select(*tick.planning.columns(None, "reminder", step, OB.unit_id, OB.id))
        .select_from(OBLIGATIONS)
        .where(OB.status == "due_soon", left >= 0, left <= bands[0][2], tick.active)
    )
    return insert_planned(tick.session, tick.planning, source)


def _fresh_by_level(tick: _Tick) -> dict[int, int]:
    """How many items newly reached each ladder level today (one scan)."""
    return {
        int(level): int(count)
        for level, count in tick.session.execute(
            select(OB.escalation_level, func.count())
            .select_from(OBLIGATIONS)
            .where(tick.fresh)
            .group_by(OB.escalation_level)
        )
    }


def _levels_by_target(ladder: Ladder, top: int) -> dict[str, list[int]]:
    """The ladder's levels up to the highest reached today, by whom they address."""
    return {t: [k for k in range(1, top + 1) if ladder.target(k) == t] for t in TARGETS}


def _plan_escalations(tick: _Tick, contact: list[int]) -> int:
    """One message per item at the contact rung: the highest contact level reached, in one
    INSERT whatever the number of rungs."""
    if not contact:
        return 0
    k = _highest_at_or_below(contact, OB.escalation_level)
    source = (
        select(*tick.planning.columns(None, "escalation", k, OB.unit_id, OB.id))
        .select_from(OBLIGATIONS)
        .where(tick.fresh, OB.escalation_level >= min(contact), OB.notified_level < k)
    )
    return insert_planned(tick.session, tick.planning, source)


def _plan_digests(tick: _Tick, levels: dict[str, list[int]]) -> int:
    """A digest goes to a supervisor when at least one item newly reached its rung today."""

    def reached(target: str) -> Any:
        """Some rung of ``target`` lies in (notified_level, escalation_level]: a tick that
        missed days still tells every rung it skipped, once."""
        ks = levels[target]
        if not ks:
            return literal(False)
        return _highest_at_or_below(ks, OB.escalation_level) > OB.notified_level

    coordinator_id = tick.session.scalar(
        select(UnitRow.id).where(
            UnitRow.campaign_id == tick.campaign_id, UnitRow.kind == "coordinator"
        )
    )
    # Each recipient once, as early as it can be: the lead units deduplicated while the
    # items are read, the coordinator as soon as one item is found (at 1M cells a UNION of
    # every item's row took 0.84 s on SQLite, this 0.45 s).
    lead_recipients = (
        select(UN.supervisor_id.label("rid"))
        .select_from(OWED)
        .where(tick.fresh, reached("lead"), UN.supervisor_id.is_not(None))
        .distinct()
    )
    coord_recipients = select(literal(coordinator_id).label("rid")).where(
        exists().where(tick.fresh, reached("coordinator"))
    )
    rid = lead_recipients.union(coord_recipients).subquery().c.rid
    key = sql_key(tick.campaign_id, "d", rid, tick.planning.planned_on.isoformat())
    source = select(*tick.planning.columns(key, "digest", literal(0), rid)).where(rid.is_not(None))
    return insert_planned(tick.session, tick.planning, source)


def _announce(tick: _Tick) -> None:
    """Mark today's levels as announced."""
    tick.session.execute(
        update(OBLIGATIONS)
        .where(
            OB.campaign_id == tick.campaign_id,
            OB.status == "overdue",
            OB.escalation_level > OB.notified_level,
            UNIT_OF.not_in(inactive_units(tick.campaign_id)),
        )
        .values(notified_level=OB.escalation_level)
    )

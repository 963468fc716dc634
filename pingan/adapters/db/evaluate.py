"""The tick's database work: evaluate every obligation and plan reminders and escalations.

Everything here is a handful of set-based statements per campaign, whatever the number of
cells; the rules are those of pingan.core.gates. Planning writes to the outbox with a unique
dedupe key and ON CONFLICT DO NOTHING, so a repeated or concurrent tick plans nothing twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import (
    String,
    and_,
    case,
    cast,
    delete,
    func,
    literal,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.orm import Session

from pingan.adapters.db.base import table, utcnow
from pingan.adapters.db.bulk import insert_or_ignore, rowcount
from pingan.adapters.db.campaigns import CampaignRow, GateRow, WorkdayRow
from pingan.adapters.db.notifications import NotificationRow
from pingan.adapters.db.obligations import ObligationRow
from pingan.adapters.db.units import UnitRow
from pingan.core.calendar import WorkingCalendar
from pingan.core.campaign import Campaign
from pingan.core.gates import Ladder, reminder_bands

OB = table(ObligationRow).c
UN = table(UnitRow).c
NT = table(NotificationRow)
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


def table_start(campaign: Campaign) -> date:
    return date(campaign.starts_on.year, 1, 1)


def replace_workdays(
    session: Session, campaign: Campaign, campaign_id: int, cal: WorkingCalendar
) -> None:
    """Rebuild the lookup table from Jan 1 of the first year to Dec 31 of the last (and of
    the next year too when the calendar knows it, so late escalations keep counting).
    A few hundred rows: rebuilding on every load keeps it in step with override files."""
    start = table_start(campaign)
    last_year = campaign.ends_on.year + (1 if cal.covers_year(campaign.ends_on.year + 1) else 0)
    rows = cal.working_day_table(start, date(last_year, 12, 31))
    session.execute(delete(WorkdayRow).where(WorkdayRow.campaign_id == campaign_id))
    session.execute(
        table(WorkdayRow).insert(),
        [{"campaign_id": campaign_id, "day": d, "working": w, "ordinal": o} for d, w, o in rows],
    )


def ordinal(session: Session, campaign_id: int, day: date) -> int:
    value = session.scalar(
        select(WorkdayRow.ordinal).where(
            WorkdayRow.campaign_id == campaign_id, WorkdayRow.day == day
        )
    )
    return int(value or 0)


def _level_expr(ladder: Ladder, offset: Any) -> Any:
    """SQL for Ladder.level_for(offset)."""
    last_after = ladder.steps[-1][0]
    n = len(ladder.steps)
    whens: list[tuple[Any, Any]] = []
    if ladder.repeat_every is None:
        whens.append((offset >= last_after, literal(n)))
    else:
        whens.append(
            (
                offset >= last_after,
                literal(n) + (offset - last_after) // ladder.repeat_every,
            )
        )
    for i in range(n - 1, 0, -1):
        whens.append((offset >= ladder.steps[i - 1][0], literal(i)))
    return case(*whens, else_=literal(0))


class CalendarNotLoaded(Exception):
    def __init__(self, as_of: date, last: date | None) -> None:
        super().__init__(
            f"工作日历只载入到 {last}，无法计算 {as_of} 的状态；"
            "请先补充 config/calendars/ 中该年份的节假日安排，再执行 pingan load"
            if last
            else "工作日历尚未载入，请先执行 pingan load"
        )


def evaluate(session: Session, campaign: Campaign, campaign_id: int, as_of: date) -> None:
    """One UPDATE … FROM the workday table: status, working-day offset and ladder level.

    Rows whose values do not change are not written: late in a campaign most obligations
    are done and stay as they are, which keeps PostgreSQL from rewriting (and bloating) a
    million rows every day. Intake and waivers set ``status_as_of`` to NULL on the rows
    they touch, which forces those rows through.
    """
    last = session.scalar(
        select(func.max(WorkdayRow.day)).where(WorkdayRow.campaign_id == campaign_id)
    )
    if last is None or as_of > last:
        raise CalendarNotLoaded(as_of, last)
    as_of_ord = ordinal(session, campaign_id, as_of) if as_of >= table_start(campaign) else 0
    wd = table(WorkdayRow).c
    window = max(campaign.reminders.days_before)
    offset = literal(as_of_ord) - wd.ordinal
    done_now = and_(OB.done_on.is_not(None), OB.done_on <= as_of)
    pending = and_(~OB.waived, ~done_now)
    overdue = and_(pending, literal(as_of) > OB.due_on)
    status = case(
        (OB.waived, literal("waived")),
        (done_now, case((OB.done_on <= OB.due_on, literal("done")), else_=literal("done_late"))),
        (literal(as_of) < OB.opens_on, literal("not_open")),
        (literal(as_of) > OB.due_on, literal("overdue")),
        (-offset <= window, literal("due_soon")),
        else_=literal("open"),
    )
    # The offset only means something while an item is open; 0 otherwise keeps rows stable.
    new_offset = case((and_(pending, literal(as_of) >= OB.opens_on), offset), else_=literal(0))
    new_days = case((overdue, offset), else_=literal(0))
    new_level = case((overdue, _level_expr(Ladder.of(campaign), offset)), else_=literal(0))
    session.execute(
        update(table(ObligationRow))
        .where(
            OB.campaign_id == campaign_id,
            wd.campaign_id == campaign_id,
            wd.day == OB.due_on,
            or_(
                OB.status_as_of.is_(None),
                OB.status != status,
                OB.wd_offset != new_offset,
                OB.days_overdue != new_days,
                OB.escalation_level != new_level,
            ),
        )
        .values(
            status=status,
            wd_offset=new_offset,
            days_overdue=new_days,
            escalation_level=new_level,
            status_as_of=as_of,
        )
    )
    session.execute(
        update(table(CampaignRow)).where(CampaignRow.id == campaign_id).values(evaluated_on=as_of)
    )


def _key(*parts: Any) -> Any:
    expr: Any = literal(str(parts[0]))
    for p in parts[1:]:
        expr = expr + (literal(":" + p) if isinstance(p, str) else literal(":") + cast(p, String))
    return expr


_COLUMNS = [
    "campaign_id",
    "dedupe_key",
    "kind",
    "level",
    "recipient_unit_id",
    "obligation_id",
    "planned_on",
    "state",
    "attempts",
    "next_attempt_at",
    "created_at",
]


def _plan(session: Session, source: Any) -> int:
    stmt = (
        insert_or_ignore(session, NT)
        .from_select(_COLUMNS, source)
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
    )
    return rowcount(session.execute(stmt, execution_options={"preserve_rowcount": True}))


def plan_notifications(
    session: Session, campaign: Campaign, campaign_id: int, as_of: date
) -> PlanSummary:
    """Reminders before due dates, per-item escalations at the contact rung, and one digest
    per supervising unit per day for items at the lead and coordinator rungs."""
    summary = PlanSummary()
    now = utcnow()
    ladder = Ladder.of(campaign)
    # Assessment gates are the assessment team's work, tracked by the acceptance flow; the
    # cell being assessed is not reminded of them.
    file_gates = select(GateRow.id).where(
        GateRow.campaign_id == campaign_id, GateRow.evidence == "files"
    )
    active = and_(OB.campaign_id == campaign_id, UN.status == "active", OB.gate_id.in_(file_gates))
    base = select().select_from(OWED)

    def row(key: Any, kind: str, level: Any, recipient: Any, obligation: Any) -> list[Any]:
        return [
            literal(campaign_id),
            key,
            literal(kind),
            level,
            recipient,
            obligation,
            literal(as_of),
            literal("queued"),
            literal(0),
            literal(now),
            literal(now),
        ]

    for step, low, high in reminder_bands(campaign.reminders.days_before):
        source = base.add_columns(
            *row(
                _key(campaign_id, "r", OB.id, str(step)),
                "reminder",
                literal(step),
                OB.unit_id,
                OB.id,
            )
        ).where(active, OB.status == "due_soon", -OB.wd_offset >= low, -OB.wd_offset <= high)
        n = _plan(session, source)
        summary.reminders += n

    fresh = and_(active, OB.status == "overdue", OB.escalation_level > OB.notified_level)
    top = int(
        session.scalar(
            select(func.coalesce(func.max(OB.escalation_level), 0)).select_from(OWED).where(fresh)
        )
        or 0
    )
    levels = {t: [k for k in range(1, top + 1) if ladder.target(k) == t] for t in TARGETS}

    def reached(target: str) -> Any:
        """Some rung of ``target`` lies in (notified_level, escalation_level]: a tick that
        missed days still tells every rung it skipped, once."""
        ks = levels[target]
        if not ks:
            return literal(False)
        return or_(*(and_(OB.notified_level < k, OB.escalation_level >= k) for k in ks))

    # One message per item at the contact rung: the highest contact level reached.
    contact = levels["contact"]
    for i, k in enumerate(contact):
        below_next = OB.escalation_level < contact[i + 1] if i + 1 < len(contact) else true()
        source = base.add_columns(
            *row(_key(campaign_id, "e", OB.id, str(k)), "escalation", literal(k), OB.unit_id, OB.id)
        ).where(fresh, OB.escalation_level >= k, below_next, OB.notified_level < k)
        summary.escalations += _plan(session, source)

    coordinator_id = session.scalar(
        select(UnitRow.id).where(UnitRow.campaign_id == campaign_id, UnitRow.kind == "coordinator")
    )
    # A digest goes to a supervisor when at least one item newly reached its rung today.
    lead_recipients = (
        select(UN.supervisor_id.label("rid"))
        .select_from(OWED)
        .where(fresh, reached("lead"), UN.supervisor_id.is_not(None))
    )
    coord_recipients = (
        select(literal(coordinator_id).label("rid"))
        .select_from(OWED)
        .where(fresh, reached("coordinator"))
    )
    recipients = lead_recipients.union(coord_recipients).subquery()
    source = select(
        *row(
            _key(campaign_id, "d", recipients.c.rid, as_of.isoformat()),
            "digest",
            literal(0),
            recipients.c.rid,
            literal(None),
        )
    ).where(recipients.c.rid.is_not(None))
    summary.digests = _plan(session, source)

    active_units = select(UN.id).where(UN.campaign_id == campaign_id, UN.status == "active")
    # Levels planned today are announced; count them per level for the summary first.
    for level, count in session.execute(
        select(OB.escalation_level, func.count())
        .select_from(OWED)
        .where(fresh)
        .group_by(OB.escalation_level)
    ):
        summary.by_level[int(level)] = int(count)
    session.execute(
        update(table(ObligationRow))
        .where(
            OB.campaign_id == campaign_id,
            OB.status == "overdue",
            OB.escalation_level > OB.notified_level,
            OB.unit_id.in_(active_units),
        )
        .values(notified_level=OB.escalation_level)
    )
    return summary


def set_supervisors(session: Session, campaign_id: int) -> None:
    """Cells answer to their domain's lead unit; every other unit to the coordinator."""
    from pingan.adapters.db.units import DomainUnitRow

    coordinator = select(UN.id).where(UN.campaign_id == campaign_id, UN.kind == "coordinator")
    lead = (
        select(DomainUnitRow.unit_id)
        .where(DomainUnitRow.domain_id == UN.domain_id, DomainUnitRow.role == "lead")
        .scalar_subquery()
    )
    wanted = case(
        (UN.kind == "cell", lead),
        (UN.kind == "coordinator", literal(None)),
        else_=coordinator.scalar_subquery(),
    )
    session.execute(
        update(table(UnitRow))
        .where(UN.campaign_id == campaign_id, UN.supervisor_id.is_distinct_from(wanted))
        .values(supervisor_id=wanted)
    )

"""The tick's database work: evaluate every obligation (pingan.adapters.db.planner then plans
what is due), in a handful of set-based statements per campaign, whatever the number of cells;
the rules are those of pingan.core.gates.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import and_, case, delete, func, literal, or_, select, text, update
from sqlalchemy.orm import Session

from pingan.adapters.db.base import table
from pingan.adapters.db.campaigns import CampaignRow, WorkdayRow
from pingan.adapters.db.obligations import ObligationRow
from pingan.adapters.db.units import UnitRow
from pingan.core.calendar import WorkingCalendar
from pingan.core.campaign import Campaign
from pingan.core.gates import Ladder

OB = table(ObligationRow).c
UN = table(UnitRow).c
FINAL = ("done", "done_late", "waived")  # until intake or a waiver sets status_as_of NULL


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


SQLITE_TICK_CACHE_KIB = 131072  # a tick rewrites the whole table: 128 MiB of page cache


def tick_settings(session: Session) -> None:
    """For a tick's transaction. On PostgreSQL its commit does not wait for the WAL flush:
    it is lost only if the server crashes, and then the tick's work is simply done again.
    On SQLite the connection keeps a page cache the size of a county's rows (the default
    2 MiB spills every page of a mass update twice)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL synchronous_commit = off"))
    else:
        session.execute(text(f"PRAGMA cache_size = -{SQLITE_TICK_CACHE_KIB}"))


def evaluate(session: Session, campaign: Campaign, campaign_id: int, as_of: date) -> None:
    """One UPDATE … FROM the workday table: status, working-day offset and ladder level.

    Rows whose values do not change are not written: late in a campaign most obligations
    are done and stay as they are, which keeps PostgreSQL from rewriting (and bloating) a
    million rows every day. Intake and waivers set ``status_as_of`` to NULL on the rows
    they touch, which forces those rows through.
    """
    tick_settings(session)
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
            # A finished row evaluated on or before as_of cannot change: skip it before its
            # new values are computed.
            or_(
                OB.status_as_of.is_(None),
                OB.status_as_of > as_of,
                OB.status.not_in(FINAL),
            ),
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

"""Test oracle: the tick's evaluation as it was before issue 19 (one UPDATE … FROM the
workday table over every obligation), kept verbatim to compare the new one against.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import and_, case, func, literal, or_, select, update
from sqlalchemy.orm import Session

from pingan.adapters.db.base import table
from pingan.adapters.db.campaigns import CampaignRow, WorkdayRow
from pingan.adapters.db.obligations import ObligationRow
from pingan.core.campaign import Campaign
from pingan.core.gates import Ladder

OB = table(ObligationRow).c


def table_start(campaign: Campaign) -> date:
    return date(campaign.starts_on.year, 1, 1)


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

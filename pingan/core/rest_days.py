"""Dated steps of a campaign that fall on a non-working day: `pingan validate` warns about
them; the deployments move the acceptance run to the next working day."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

from pingan.core.calendar.overrides import CalendarError
from pingan.core.campaign import Campaign

IsWorking = Callable[[date], bool]
WEEKDAY_ZH = "一二三四五六日"


def acceptance_start(campaign: Campaign) -> date | None:
    """The phase called acceptance, else the phase of the first assessment gate."""
    for p in campaign.phases:
        if p.key == "acceptance":
            return p.starts_on
    for g in campaign.gates:
        if g.evidence == "assessment":
            return campaign.phase(g.phase).starts_on
    return None


def next_working_day(d: date, is_working: IsWorking, limit_days: int = 60) -> date:
    """``d`` itself when it is a working day, else the first working day after it; ``d``
    when none can be told (the calendar ends before one is found)."""
    for n in range(limit_days):
        candidate = d + timedelta(days=n)
        try:
            if is_working(candidate):
                return candidate
        except CalendarError:  # a year the working calendar does not cover
            return d
    return d


def _day(d: date) -> str:
    return f"{d}（星期{WEEKDAY_ZH[d.weekday()]}）"


def rest_day_warnings(campaign: Campaign, is_working: IsWorking) -> list[str]:
    """One Chinese line per gate date and acceptance start on a non-working day."""
    out: list[str] = []
    for g in campaign.gates:
        if g.opens_on is not None and not is_working(g.opens_on):
            out.append(f"报送事项“{g.name}”的开始日期 {_day(g.opens_on)} 不是工作日")
        if not is_working(g.due_on):
            moved = next_working_day(g.due_on, is_working)
            hint = f"，可考虑改为 {_day(moved)}" if moved != g.due_on else ""
            out.append(f"报送事项“{g.name}”的截止日期 {_day(g.due_on)} 不是工作日{hint}")
    start = acceptance_start(campaign)
    if start is not None and not is_working(start):
        moved = next_working_day(start, is_working)
        out.append(
            f"考核验收开始日 {_day(start)} 不是工作日，签批等待将跨越休息日；"
            f"部署计划已顺延至 {_day(moved)}"
        )
    return out

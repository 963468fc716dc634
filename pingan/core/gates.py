"""Obligation status and escalation-ladder rules.

These pure functions are the specification; pingan.adapters.db.evaluate applies the same rules to a
million rows in one UPDATE, and a test checks the two agree on random obligations.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal

from pingan.core.campaign import Campaign

Status = Literal["not_open", "open", "due_soon", "overdue", "done", "done_late", "waived"]
STATUSES: tuple[Status, ...] = (
    "not_open",
    "open",
    "due_soon",
    "overdue",
    "done",
    "done_late",
    "waived",
)
# 督查督办 colours: grey not open, blue open, yellow due soon, red overdue, green done.
COLOURS: dict[Status, str] = {
    "not_open": "grey",
    "open": "blue",
    "due_soon": "yellow",
    "overdue": "red",
    "done": "green",
    "done_late": "green",
    "waived": "grey",
}
STATUS_LABELS: dict[Status, str] = {
    "not_open": "未开始",
    "open": "进行中",
    "due_soon": "临近截止",
    "overdue": "已逾期",
    "done": "已完成",
    "done_late": "逾期完成",
    "waived": "已豁免",
}
COLOUR_LABELS = {"grey": "灰", "blue": "蓝", "yellow": "黄", "red": "红", "green": "绿"}
Target = Literal["contact", "lead", "coordinator"]
TARGET_LABELS: dict[str, str] = {"contact": "责任单位", "lead": "牵头单位", "coordinator": "综治委"}


def status_of(
    *,
    as_of: date,
    opens_on: date,
    due_on: date,
    done_on: date | None,
    waived: bool,
    wd_offset: int,
    window: int,
) -> Status:
    """Status as of a date. ``wd_offset`` = working days in (due_on, as_of], negative before.

    A submission received after ``as_of`` does not count yet, so replaying an earlier date
    gives the status that day had.
    """
    if waived:
        return "waived"
    if done_on is not None and done_on <= as_of:
        return "done" if done_on <= due_on else "done_late"
    if as_of < opens_on:
        return "not_open"
    if as_of > due_on:
        return "overdue"
    return "due_soon" if -wd_offset <= window else "open"


@dataclass(frozen=True)
class Ladder:
    """Escalation rungs in working days overdue; after the last rung the ladder starts
    again every ``repeat_every`` working days (contact → lead → coordinator → contact …)."""

    steps: tuple[tuple[int, Target], ...]
    repeat_every: int | None

    @classmethod
    def of(cls, campaign: Campaign) -> Ladder:
        return cls(
            tuple((s.after, s.notify) for s in campaign.escalation.ladder),
            campaign.escalation.repeat_every,
        )

    def threshold(self, level: int) -> int:
        if level <= 0:
            return 0
        n = len(self.steps)
        if level <= n:
            return self.steps[level - 1][0]
        if self.repeat_every is None:
            raise ValueError(level)
        return self.steps[-1][0] + (level - n) * self.repeat_every

    def level_for(self, days_overdue: int) -> int:
        last_after = self.steps[-1][0]
        if days_overdue >= last_after:
            if self.repeat_every is None:
                return len(self.steps)
            return len(self.steps) + (days_overdue - last_after) // self.repeat_every
        return sum(1 for after, _ in self.steps if days_overdue >= after)

    def target(self, level: int) -> Target:
        return self.steps[(level - 1) % len(self.steps)][1]

    def first_level(self, target: Target) -> int | None:
        for i, (_, t) in enumerate(self.steps, start=1):
            if t == target:
                return i
        return None


def reminder_bands(days_before: list[int]) -> list[tuple[int, int, int]]:
    """(step, low, high): send reminder ``step`` when low <= working days left <= high.

    Bands do not overlap, so a tick that first sees an item with one day left sends only
    the last reminder, not every reminder it missed.
    """
    steps = sorted(set(days_before), reverse=True)
    bands = []
    for i, step in enumerate(steps):
        low = steps[i + 1] + 1 if i + 1 < len(steps) else 0
        bands.append((step, low, step))
    return bands

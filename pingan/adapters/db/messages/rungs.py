"""What a reminder or escalation says about the ladder, derived from the campaign's own
ladder: who has already been told, and who is told next and on which day — so "what happens
next" is right for any ladder, including one whose next rung is the unit itself again."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from pingan.adapters.db.campaigns import WorkdayRow
from pingan.core.campaign import Campaign
from pingan.core.gates import Ladder


@dataclass(frozen=True)
class Rungs:
    """The ladder, the names its targets stand for, and the calendar to date its rungs."""

    ladder: Ladder
    coordinator: str
    first_day: Mapping[int, date]  # working-day ordinal -> the working day that reaches it

    @classmethod
    def load(cls, session: Session, campaign: Campaign, campaign_id: int) -> Rungs:
        first_day: dict[int, date] = {}
        for day, ordinal in session.execute(
            select(WorkdayRow.day, WorkdayRow.ordinal)
            .where(WorkdayRow.campaign_id == campaign_id, WorkdayRow.working.is_(True))
            .order_by(WorkdayRow.day)
        ):
            first_day.setdefault(int(ordinal), day)
        return cls(Ladder.of(campaign), campaign.wording.coordinator, first_day)

    def name(self, level: int, supervisor: str | None) -> str | None:
        """Whom rung ``level`` tells, by name; None when it is the unit itself."""
        target = self.ladder.target(level)
        if target == "contact":
            return None
        if target == "lead" and supervisor:
            return supervisor
        return self.coordinator

    def told(self, level: int, supervisor: str | None) -> str | None:
        """The highest rung up to ``level`` that told someone above the unit, by name."""
        for k in range(level, 0, -1):
            told = self.name(k, supervisor)
            if told is not None:
                return told
        return None

    def context(
        self, level: int, days_overdue: int, due_ordinal: int | None, supervisor: str | None
    ) -> dict[str, Any]:
        """Template variables: ``escalated_to`` (who already knows, or None), and the next
        rung — ``next_after`` working days overdue, reached on ``next_on`` — which tells
        ``next_target`` (a name), or the unit itself again (``next_again``). All None
        when the ladder has run out or that day has already passed."""
        out: dict[str, Any] = {
            "escalated_to": self.told(level, supervisor),
            "next_target": None,
            "next_again": False,
            "next_after": None,
            "next_on": None,
        }
        nxt = level + 1
        try:
            after = self.ladder.threshold(nxt)
        except ValueError:
            return out  # the ladder does not repeat: nobody further to tell
        if after <= days_overdue:
            return out
        target = self.name(nxt, supervisor)
        on = self.first_day.get(due_ordinal + after) if due_ordinal is not None else None
        out.update(next_target=target, next_again=target is None, next_after=after, next_on=on)
        return out

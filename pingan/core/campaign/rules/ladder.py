"""Reminders and the escalation ladder: steps strictly later, reminder days distinct."""

from __future__ import annotations

from pingan.core.campaign.model import Campaign
from pingan.core.campaign.rules.common import Findings, duplicates


def ladder(c: Campaign) -> Findings:
    afters = [s.after for s in c.escalation.ladder]
    if afters != sorted(set(afters)):
        yield "escalation.ladder", "各级 after(逾期工作日数)须严格递增"


def reminders(c: Campaign) -> Findings:
    for dup in duplicates(sorted(str(d) for d in c.reminders.days_before)):
        yield "reminders.days_before", f"提醒天数 {dup} 重复"

"""The one notification planner: reminders, escalations and digests (the tick), award
notices and the weekly bulletin, all through one row builder, one dedupe-key scheme and one
insert-or-ignore (rows).

Reminders, escalations, award notices and digests are planned set-based with INSERT …
SELECT and rendered on first delivery (pingan.adapters.db.messages). A lead unit's award list
and the bulletin name what one run found, so they are rendered when planned: a few rows,
one per supervising unit.
"""

from __future__ import annotations

from pingan.adapters.db.planner.awards import plan_award_notices
from pingan.adapters.db.planner.bulletin import BulletinPlan, iso_week, plan_bulletin
from pingan.adapters.db.planner.ladder import PlanSummary, plan_notifications

__all__ = [
    "BulletinPlan",
    "PlanSummary",
    "iso_week",
    "plan_award_notices",
    "plan_bulletin",
    "plan_notifications",
]

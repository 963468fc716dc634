"""Acceptance results, the coordinator's sign-off, awards and revocations, in set-based SQL.

The rule that matters: a cell is awarded only when its latest assessment passed, that
assessment existed when the coordinator approved (a cell re-assessed afterwards waits for the
next sign-off), and the sign-off did not exclude it.
"""

from __future__ import annotations

from pingan.adapters.db.awarding.grant import grant_awards
from pingan.adapters.db.awarding.listing import award_listing, find_award
from pingan.adapters.db.awarding.results import acceptance_results
from pingan.adapters.db.awarding.revoke import revoke_award
from pingan.adapters.db.awarding.signoff import latest_signoff, record_signoff
from pingan.adapters.db.awarding.verification import (
    AwardHit,
    AwardLink,
    award_by_id,
    awards_by_number,
    awards_in_force,
)

__all__ = [
    "AwardHit",
    "AwardLink",
    "acceptance_results",
    "award_by_id",
    "award_listing",
    "awards_by_number",
    "awards_in_force",
    "find_award",
    "grant_awards",
    "latest_signoff",
    "record_signoff",
    "revoke_award",
]

"""Tell the coordinator's office about a failed run or a sign-off that waits too long: an
alert queued in the campaign's outbox and delivered on the coordinator's own channels."""

from __future__ import annotations

from sqlalchemy import Engine

from pingan.adapters.db.planner.alerts import plan_alert
from pingan.adapters.db.session import session_scope
from pingan.core.alerts import AlertFacts, alert_text
from pingan.services.tick import CampaignHandle, resolve_as_of


def queue_alert(engine: Engine, handle: CampaignHandle, facts: AlertFacts) -> int:
    """How many alerts were queued now (0 when this one was queued before)."""
    text = alert_text(handle.campaign, facts)
    on = resolve_as_of(handle, None)
    with session_scope(engine) as session:
        return plan_alert(session, handle.campaign_id, handle.campaign.code, on, facts.key, text)

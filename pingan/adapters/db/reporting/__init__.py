"""What a progress report (and the weekly bulletin) says about a campaign as of a date.

Read-only and set-based: a handful of GROUP BY queries whatever the number of cells. Every
status is derived from the obligations' own dates (opens_on, due_on, done_on, waived) by the
rules of pingan.core.gates, not read from the columns the tick last wrote, so a report for any
past date says what was true that day and never needs an evaluation to run first. A waiver
carries no date, so a waived item counts as waived on every day of the history.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy.orm import Session

from pingan.adapters.db.receipts import receipts
from pingan.adapters.db.reporting.common import workday_ordinals
from pingan.adapters.db.reporting.failed import failed_cells
from pingan.adapters.db.reporting.kpis import (
    assessment_opens_on,
    current_phase,
    domain_reports,
    lead_units,
)
from pingan.adapters.db.reporting.red_items import overdue_totals, red_items
from pingan.adapters.db.reporting.timeline import burndown, late_by_village, notification_counts
from pingan.adapters.render.report.data import ReportData
from pingan.core.campaign import Campaign


def gather(
    session: Session, campaign: Campaign, campaign_id: int, as_of: date, now: datetime
) -> ReportData:
    """Everything the report shows, as of ``as_of``; ``now`` is the local time stamped on it."""
    ords = workday_ordinals(session, campaign_id, as_of)
    domains, total = domain_reports(session, campaign, campaign_id, as_of)
    burn = burndown(session, campaign, campaign_id, as_of, ords)
    channels, kinds = notification_counts(session, campaign_id, as_of)
    seen = receipts(session, campaign_id)
    office = campaign.coordinator.office
    return ReportData(
        campaign_code=campaign.code,
        campaign_name=campaign.name,
        short_name=campaign.short_name or campaign.name,
        issuer=campaign.issuer,
        coordinator=campaign.coordinator.name,
        org=campaign.wording,
        office=office.name if office else campaign.coordinator.name,
        as_of=as_of,
        generated_at=now,
        phase=current_phase(campaign, as_of),
        phases=tuple((p.name, p.starts_on, p.ends_on) for p in campaign.phases),
        ladder=tuple(
            (s.after, campaign.wording.target_label(s.notify)) for s in campaign.escalation.ladder
        ),
        repeat_every=campaign.escalation.repeat_every,
        starts_on=campaign.starts_on,
        ends_on=campaign.ends_on,
        assessment_opens_on=assessment_opens_on(campaign),
        coverage_target=campaign.targets.coverage,
        pass_rate_target=campaign.targets.pass_rate,
        domains=domains,
        overall=total,
        awarded=sum(d.awarded for d in domains),
        obligations=burn.on(as_of),
        burndown=burn,
        late_by_village=late_by_village(session, campaign_id, as_of, campaign.wording.direct),
        notifications=channels,
        notification_kinds=kinds,
        red_items=red_items(session, campaign, campaign_id, as_of, ords),
        failed_cells=failed_cells(session, campaign, campaign_id, as_of),
        told_units=seen["told"],
        seen_units=seen["seen"],
    )


__all__ = [
    "assessment_opens_on",
    "domain_reports",
    "gather",
    "lead_units",
    "overdue_totals",
]

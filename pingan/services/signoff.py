"""Sign-off on a phone: links for the approvers when the acceptance run waits, reminders
while it waits, closing them when it has its answer, and what the portal page needs.

The Prefect side (pausing, resuming) belongs to the flow and the portal; this module only
reads and writes the database.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import Engine, insert, select
from sqlalchemy.orm import Session

from pingan.adapters.db.audit import AuditEventRow
from pingan.adapters.db.awarding.signoff import passed_cells
from pingan.adapters.db.awarding.signoff_links import (
    Notice,
    PauseRef,
    claim,
    close_links,
    find_link,
    issue_links,
    placeholder,
    release,
    remind,
    waiting_links,
)
from pingan.adapters.db.base import utcnow
from pingan.adapters.db.campaigns import WorkdayRow
from pingan.adapters.db.session import session_scope
from pingan.adapters.render.acceptance import (
    cn_datetime,
    local_time,
    signoff_notice,
    signoff_reminder,
)
from pingan.core.acceptance import AcceptanceResults, SignOffRequest, signoff_problems
from pingan.core.links import PortalSettings, secret_of
from pingan.core.problems import Problem
from pingan.core.signoff import SignoffClaims
from pingan.services.acceptance import results
from pingan.services.tick import CampaignHandle, open_campaign

__all__ = ["PauseRef"]


def portal_ready(portal: PortalSettings) -> bool:
    return bool(portal.portal_base_url) and secret_of(portal) is not None


def issue_signoff_links(
    engine: Engine,
    handle: CampaignHandle,
    pause: PauseRef,
    res: AcceptanceResults,
    portal: PortalSettings,
    today: date,
) -> int:
    """A personal link, and a message carrying it, for each approver of the campaign; 0
    when none are named or the portal is not configured (the Prefect UI form still works)."""
    c = handle.campaign
    if not c.acceptance.approvers or not portal_ready(portal):
        return 0
    deadline = local_time(pause.expires_at, c.timezone)
    name = c.short_name or c.name

    def notice(approver: str, link: str) -> Notice:
        return Notice(*signoff_notice(name, approver, res, deadline, link))

    with session_scope(engine) as session:
        rows = issue_links(session, c, handle.campaign_id, pause, notice, portal, today)
        return len(rows)


def remind_approvers(engine: Engine, handle: CampaignHandle, today: date, now: datetime) -> int:
    """On a working day, a reminder for every link still waiting (once a day)."""
    c = handle.campaign
    name = c.short_name or c.name
    with session_scope(engine) as session:
        if not _working(session, handle.campaign_id, today):
            return 0
        links = waiting_links(session, handle.campaign_id, now)
        notices = {
            link.id: Notice(
                *signoff_reminder(
                    name,
                    link.approver,
                    local_time(link.expires_at, c.timezone),
                    placeholder(link.id),
                )
            )
            for link in links
        }
        return remind(session, handle.campaign_id, links, notices, today)


def _working(session: Session, campaign_id: int, day: date) -> bool:
    working = session.scalar(
        select(WorkdayRow.working).where(
            WorkdayRow.campaign_id == campaign_id, WorkdayRow.day == day
        )
    )
    return day.weekday() < 5 if working is None else bool(working)


def close_signoff_links(
    engine: Engine, handle: CampaignHandle, flow_run_id: str, reason: str
) -> int:
    with session_scope(engine) as session:
        return close_links(session, handle.campaign_id, flow_run_id, reason)


# --- the portal's page ------------------------------------------------------------------


@dataclass(frozen=True)
class LinkView:
    """A verified link, its state and the results its approver signs for."""

    id: int
    handle: CampaignHandle
    approver: str
    flow_run_id: str
    expires_at: datetime  # local time
    used_at: datetime | None  # local time
    closed_reason: str | None
    open: bool
    results: AcceptanceResults

    @property
    def deadline_text(self) -> str:
        return cn_datetime(self.expires_at)


def view_link(engine: Engine, claims: SignoffClaims, now: datetime) -> LinkView | None:
    """What the page shows for a verified token, or None when no such link exists."""
    with Session(engine) as session:
        row = find_link(session, claims.campaign, claims.link_id, claims.run)
    if row is None:
        return None
    handle = open_campaign(engine, claims.campaign)
    tz = handle.campaign.timezone
    still = row.used_at is None and row.closed_at is None and row.expires_at > utcnow_of(now)
    return LinkView(
        id=row.id,
        handle=handle,
        approver=row.approver,
        flow_run_id=row.flow_run_id,
        expires_at=local_time(row.expires_at, tz),
        used_at=local_time(row.used_at, tz) if row.used_at else None,
        closed_reason=row.closed_reason,
        open=still,
        results=results(engine, handle, row.as_of),
    )


def utcnow_of(now: datetime) -> datetime:
    """``now`` as the database stores times (naive UTC)."""
    return now if now.tzinfo is None else now.astimezone(UTC).replace(tzinfo=None)


def request_problems(
    engine: Engine, handle: CampaignHandle, request: SignOffRequest
) -> list[Problem]:
    """What the sign-off would be refused for, checked before the run is resumed."""
    with Session(engine) as session:
        return signoff_problems(request, passed_cells(session, handle.campaign_id))


def take_link(engine: Engine, link_id: int, now: datetime) -> bool:
    with session_scope(engine) as session:
        return claim(session, link_id, now)


def give_back_link(engine: Engine, link_id: int) -> None:
    with session_scope(engine) as session:
        release(session, link_id)


def audit_phone_signoff(
    engine: Engine, link: LinkView, fp: str, request: SignOffRequest, outcome: str
) -> None:
    """Every sign-off given on a phone, with the link's fingerprint (never the link)."""
    with engine.begin() as conn:
        conn.execute(
            insert(AuditEventRow).values(
                campaign_id=link.handle.campaign_id,
                at=utcnow(),
                actor="portal",
                action="acceptance.signoff.phone",
                entity="signoff_link",
                entity_id=str(link.id),
                after={
                    "token": fp,
                    "approver": link.approver,
                    "signed_as": request.approver,
                    "approved": request.approved,
                    "comment": request.comment,
                    "exclusions": dict(request.exclusions),
                    "flow_run": link.flow_run_id,
                    "outcome": outcome,
                },
            )
        )

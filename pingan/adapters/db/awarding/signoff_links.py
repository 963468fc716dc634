"""Phone sign-off links in the database: issuing them with their messages, filling the link
into a message when it is sent, single use, and closing them.

Each message is put into the outbox with its delivery already made (the approver's own
channel and address, pingan.core.signoff.route), so the normal dispatcher sends it and
expansion, which only expands notifications without deliveries, leaves it alone. The stored
body holds a placeholder naming the link's row; sending signs the link again.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import and_, select, update
from sqlalchemy.orm import Session

from pingan.adapters.db.base import utcnow
from pingan.adapters.db.bulk import rowcount
from pingan.adapters.db.campaigns import CampaignRow
from pingan.adapters.db.deliveries import DeliveryRow
from pingan.adapters.db.notifications import NotificationRow
from pingan.adapters.db.signoff_links import SignoffLinkRow
from pingan.adapters.db.units import UnitRow
from pingan.core.campaign import Campaign
from pingan.core.links import PortalSettings, fingerprint, secret_of
from pingan.core.signoff import (
    ACTION_LABEL,
    SignoffClaims,
    link_channels,
    route,
    sign_signoff,
    signoff_url,
)

KIND = "signoff"
_PLACEHOLDER = "〔签批专用链接#{id}，发送时生成〕"
_FIND = re.compile(r"〔签批专用链接#(\d{1,12})，发送时生成〕")
UNAVAILABLE = "（签批链接暂不可用，请联系活动办公室或在 Prefect 界面签批）"


def placeholder(link_id: int) -> str:
    return _PLACEHOLDER.format(id=link_id)


@dataclass(frozen=True)
class PauseRef:
    """An acceptance run waiting for its sign-off, and until when it waits."""

    flow_run_id: str
    as_of: date
    expires_at: datetime


@dataclass(frozen=True)
class Notice:
    subject: str
    body: str  # with placeholder(link_id) where the link goes


def _naive(moment: datetime) -> datetime:
    return moment if moment.tzinfo is None else moment.astimezone(UTC).replace(tzinfo=None)


def _token(campaign_code: str, row: SignoffLinkRow, secret: str) -> str:
    return sign_signoff(SignoffClaims(campaign_code, row.id, row.flow_run_id), secret)


def _coordinator_id(session: Session, campaign_id: int) -> int:
    found = session.scalar(
        select(UnitRow.id).where(UnitRow.campaign_id == campaign_id, UnitRow.kind == "coordinator")
    )
    if found is None:
        raise LookupError("the campaign has no coordinator unit")
    return int(found)


def _enqueue(
    session: Session, campaign_id: int, link: SignoffLinkRow, notice: Notice, key: str, day: date
) -> int:
    """One notification and its one delivery, in the caller's transaction."""
    now = utcnow()
    n = NotificationRow(
        campaign_id=campaign_id,
        dedupe_key=key,
        kind=KIND,
        recipient_unit_id=_coordinator_id(session, campaign_id),
        planned_on=day,
        subject=notice.subject[:500],
        body=notice.body,
        channel=link.channel,
        next_attempt_at=now,
    )
    session.add(n)
    session.flush()
    session.add(
        DeliveryRow(
            notification_id=n.id,
            campaign_id=campaign_id,
            channel=link.channel,
            address=link.address,
            next_attempt_at=now,
        )
    )
    return n.id


def approver_channels(campaign: Campaign) -> frozenset[str]:
    """The channels this campaign can carry a sign-off link on."""
    ch = campaign.channels
    return link_channels(ch.wecom_app is not None, ch.dingtalk_work is not None)


def issue_links(
    session: Session,
    campaign: Campaign,
    campaign_id: int,
    pause: PauseRef,
    notice: Callable[[str, str], Notice],
    portal: PortalSettings,
    day: date,
) -> list[SignoffLinkRow]:
    """A link per approver of the campaign, each with its first message: ``notice`` gives
    it from the approver's name and the placeholder where the link goes."""
    secret = secret_of(portal)
    rows: list[SignoffLinkRow] = []
    usable = approver_channels(campaign)
    for approver in campaign.acceptance.approvers:
        routed = route(approver, usable)
        if routed is None:  # refused by the campaign rules; never guess a channel
            continue
        channel, address = routed
        row = SignoffLinkRow(
            campaign_id=campaign_id,
            flow_run_id=pause.flow_run_id,
            approver=approver.name,
            channel=channel,
            address=address,
            as_of=pause.as_of,
            expires_at=_naive(pause.expires_at),
        )
        session.add(row)
        session.flush()
        if secret is not None:
            row.fingerprint = fingerprint(_token(campaign.code, row, secret))
        key = f"signoff:{pause.flow_run_id}:{row.id}:0"
        text = notice(approver.name, placeholder(row.id))
        row.notification_id = _enqueue(session, campaign_id, row, text, key, day)
        rows.append(row)
    return rows


def waiting_links(session: Session, campaign_id: int, now: datetime) -> list[SignoffLinkRow]:
    """The campaign's links still open: unused, not closed, not expired."""
    return list(
        session.scalars(
            select(SignoffLinkRow)
            .where(
                SignoffLinkRow.campaign_id == campaign_id,
                SignoffLinkRow.closed_at.is_(None),
                SignoffLinkRow.used_at.is_(None),
                SignoffLinkRow.expires_at > _naive(now),
            )
            .order_by(SignoffLinkRow.id)
        )
    )


def remind(
    session: Session,
    campaign_id: int,
    links: Sequence[SignoffLinkRow],
    notices: Mapping[int, Notice],
    day: date,
) -> int:
    """A reminder (``notices`` by link id) for each link, at most one a day: the dedupe key
    names the day, and a link first sent that day needs none."""
    sent = 0
    for link in links:
        if link.created_at.date() == day:
            continue
        key = f"signoff:{link.flow_run_id}:{link.id}:{day.isoformat()}"
        if session.scalar(
            select(NotificationRow.id).where(
                NotificationRow.dedupe_key == key, NotificationRow.obligation_id.is_(None)
            )
        ):
            continue
        _enqueue(session, campaign_id, link, notices[link.id], key, day)
        sent += 1
    return sent


def close_links(session: Session, campaign_id: int, flow_run_id: str, reason: str) -> int:
    """Close the run's open links (it has its sign-off, or its wait ran out) and cancel the
    messages about them not yet sent."""
    now = utcnow()
    res = session.execute(
        update(SignoffLinkRow)
        .where(
            SignoffLinkRow.campaign_id == campaign_id,
            SignoffLinkRow.flow_run_id == flow_run_id,
            SignoffLinkRow.closed_at.is_(None),
        )
        .values(closed_at=now, closed_reason=reason),
        execution_options={"preserve_rowcount": True},
    )
    prefix = f"signoff:{flow_run_id}:%"
    pending = select(NotificationRow.id).where(
        NotificationRow.campaign_id == campaign_id,
        NotificationRow.dedupe_key.like(prefix),
        NotificationRow.state == "queued",
    )
    session.execute(
        update(DeliveryRow)
        .where(DeliveryRow.notification_id.in_(pending), DeliveryRow.state == "queued")
        .values(state="cancelled")
    )
    session.execute(
        update(NotificationRow)
        .where(NotificationRow.id.in_(pending.scalar_subquery()))
        .values(state="cancelled")
    )
    return rowcount(res)


def claim(session: Session, link_id: int, now: datetime) -> bool:
    """Take a link for one submission: True for exactly one caller, and only while the link
    is open and unexpired (one UPDATE, so two taps cannot both win)."""
    res = session.execute(
        update(SignoffLinkRow)
        .where(
            and_(
                SignoffLinkRow.id == link_id,
                SignoffLinkRow.used_at.is_(None),
                SignoffLinkRow.closed_at.is_(None),
                SignoffLinkRow.expires_at > _naive(now),
            )
        )
        .values(used_at=_naive(now)),
        execution_options={"preserve_rowcount": True},
    )
    return rowcount(res) == 1


def release(session: Session, link_id: int) -> None:
    """Give a claimed link back when the run could not be reached (try again later)."""
    session.execute(
        update(SignoffLinkRow)
        .where(SignoffLinkRow.id == link_id, SignoffLinkRow.closed_at.is_(None))
        .values(used_at=None)
    )


def fill_signoff_links(
    session: Session, campaign: Campaign, bodies: dict[int, str], portal: PortalSettings | None
) -> tuple[dict[int, str], dict[int, dict[str, str]]]:
    """``bodies`` with each sign-off placeholder replaced by its signed link, and per
    notification the Message fields of the personal action (action_url, action_label)."""
    wanted = {nid: int(m.group(1)) for nid, b in bodies.items() if (m := _FIND.search(b))}
    if not wanted:
        return bodies, {}
    rows = {
        r.id: r
        for r in session.scalars(
            select(SignoffLinkRow).where(SignoffLinkRow.id.in_(set(wanted.values())))
        )
    }
    secret = secret_of(portal) if portal is not None else None
    out, actions = dict(bodies), {}
    for nid, link_id in wanted.items():
        row = rows.get(link_id)
        url = None
        if row is not None and secret is not None and portal is not None and portal.portal_base_url:
            url = signoff_url(portal.portal_base_url, _token(campaign.code, row, secret))
            actions[nid] = {"action_url": url, "action_label": ACTION_LABEL}
        out[nid] = out[nid].replace(placeholder(link_id), url or UNAVAILABLE)
    return out, actions


def find_link(
    session: Session, campaign_code: str, link_id: int, run: str
) -> SignoffLinkRow | None:
    """The link a verified token names, if it is still in this campaign's database."""
    return session.scalar(
        select(SignoffLinkRow)
        .join(CampaignRow, CampaignRow.id == SignoffLinkRow.campaign_id)
        .where(
            SignoffLinkRow.id == link_id,
            SignoffLinkRow.flow_run_id == run,
            CampaignRow.code == campaign_code,
        )
    )


def link_token(campaign_code: str, row: SignoffLinkRow, secret: str) -> str:
    """The token of a stored link (tests and the CLI's preview)."""
    return _token(campaign_code, row, secret)

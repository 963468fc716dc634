"""Personal links in stored messages: a stored body holds a placeholder, never a token, and
the signed link is derived again each time the message is sent — from the campaign, the
recipient's code, its current token version and the day the message speaks of, so a
revoked link is replaced by a working one and the database never holds a credential."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pingan.adapters.db.links import FIRST_VERSION, PortalLinkRow
from pingan.adapters.db.messages.common import link_moment
from pingan.adapters.db.notifications import NotificationRow
from pingan.adapters.db.short_links import short_links
from pingan.adapters.db.units import UnitRow
from pingan.core.campaign import Campaign
from pingan.core.links import PortalSettings, personal_link
from pingan.core.short_links import ShortLinkRequest

# What a stored body holds where the personal link goes; readable if anyone sees it.
LINK_PLACEHOLDER = "〔本单位专用链接，发送时生成〕"
UNAVAILABLE = "（专用链接暂不可用，请联系活动办公室）"
CHUNK = 5000


def has_placeholder(body: str) -> bool:
    return LINK_PLACEHOLDER in body


# What a group channel (robot, webhook, a unit's shared mailbox) shows instead of the line
# with the personal link: anyone in a group could use a link posted there.
GROUP_NOTE = "网上报送：专用报送链接已单独发送给各单位联系人，请查看个人消息"
ACTION_LABEL = "立即报送"


def fill_links(
    session: Session,
    campaign: Campaign,
    bodies: dict[int, str],
    portal: PortalSettings | None,
) -> dict[int, str]:
    """``bodies`` (by notification id) with each placeholder replaced by the recipient's
    signed link for the message's day; bodies without a placeholder are left alone."""
    links = signed_links(session, campaign, bodies, portal)
    return {nid: with_link(body, links.get(nid)) for nid, body in bodies.items()}


def signed_links(
    session: Session,
    campaign: Campaign,
    bodies: dict[int, str],
    portal: PortalSettings | None,
) -> dict[int, str | None]:
    """The recipient's signed link for the message's day, for each body (by notification
    id) that has a placeholder; None where no link can be made (no portal settings)."""
    todo = [nid for nid, body in bodies.items() if has_placeholder(body)]
    out: dict[int, str | None] = {}
    for i in range(0, len(todo), CHUNK):
        for r in _heads(session, todo[i : i + CHUNK]):
            link = None
            if portal is not None:
                moment = link_moment(r.planned_on, campaign.timezone)
                link = personal_link(campaign.code, r.code, r.version, moment, portal)
            out[r.id] = link
    return out


def short_signed_links(
    session: Session,
    campaign: Campaign,
    nids: Sequence[int],
    portal: PortalSettings | None,
) -> dict[int, str | None]:
    """For SMS: each notification's recipient link as a short ``<portal>/k/<code>`` link for
    the message's day, minted in the session's transaction (commit it before sending); None
    where no link can be made. A template's fixed ``link_prefix`` is ``<portal>/k/``."""
    requests: dict[int, ShortLinkRequest] = {}
    for i in range(0, len(nids), CHUNK):
        for r in _heads(session, nids[i : i + CHUNK]):
            moment = link_moment(r.planned_on, campaign.timezone)
            requests[r.id] = ShortLinkRequest(r.code, r.version, moment)
    return short_links(session, campaign, portal, requests)


def with_link(body: str, link: str | None) -> str:
    """A stored body for one person: the placeholder becomes their unit's link."""
    return body.replace(LINK_PLACEHOLDER, link or UNAVAILABLE)


def without_link(body: str) -> str:
    """A stored body for a group: each line holding the placeholder becomes GROUP_NOTE."""
    if not has_placeholder(body):
        return body
    return "\n".join(GROUP_NOTE if LINK_PLACEHOLDER in line else line for line in body.split("\n"))


def _heads(session: Session, ids: Sequence[int]) -> Sequence[Any]:
    return session.execute(
        select(
            NotificationRow.id,
            NotificationRow.planned_on,
            UnitRow.code,
            func.coalesce(PortalLinkRow.version, FIRST_VERSION).label("version"),
        )
        .join(UnitRow, UnitRow.id == NotificationRow.recipient_unit_id)
        .outerjoin(PortalLinkRow, PortalLinkRow.unit_id == UnitRow.id)
        .where(NotificationRow.id.in_(list(ids)))
    ).all()

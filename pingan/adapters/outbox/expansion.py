"""Expansion: each queued notification becomes one delivery per (channel, address) of the
recipient unit's contacts, in one INSERT … SELECT … ON CONFLICT DO NOTHING."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import String, and_, cast, exists, literal, or_, select, union, update
from sqlalchemy.orm import Session

from pingan.adapters.channels.base import ChannelName
from pingan.adapters.db.base import table
from pingan.adapters.db.bulk import insert_or_ignore, rowcount
from pingan.adapters.db.units import ContactRow
from pingan.adapters.outbox.tables import DC, NC, D, N

CT = table(ContactRow)
CC = CT.c

NO_CONTACT = "收件单位未登记任何联系方式"
NO_ENABLED = "收件单位登记的联系方式均不属于已启用的渠道"
# Columns of a contact that address each channel; the demo's file channel has none.
CONTACT_COLUMNS: Mapping[str, Any] = {
    "email": CC.email,
    "wecom": CC.wecom_ref,
    "dingtalk": CC.dingtalk_ref,
    "webhook": CC.webhook_ref,
}
DEMO_ADDRESS = "demo"
_COLUMNS = [
    "notification_id",
    "campaign_id",
    "channel",
    "address",
    "state",
    "attempts",
    "next_attempt_at",
    "created_at",
    "parts",
]


@dataclass
class ExpandResult:
    deliveries: int = 0  # delivery rows created
    dead: int = 0  # notifications with no usable contact


def _usable(col: Any) -> Any:
    return and_(col.is_not(None), col != "")


def _fresh(campaign_id: int) -> Any:
    """Queued notifications of the campaign that have no delivery yet."""
    return and_(
        NC.campaign_id == campaign_id,
        NC.state == "queued",
        ~exists().where(DC.notification_id == NC.id),
    )


def _source(
    fresh: Any,
    now: datetime,
    channels: Collection[str] | None,
    channel_override: ChannelName | None,
) -> Any:
    """The rows to insert, in ``_COLUMNS`` order; None when no channel can be addressed."""
    common = [literal("queued"), literal(0), literal(now), literal(now), literal(0)]
    if channel_override is not None:
        return select(
            NC.id, NC.campaign_id, literal(channel_override), literal(DEMO_ADDRESS), *common
        ).where(fresh)
    enabled = [c for c in CONTACT_COLUMNS if channels is None or c in channels]
    if not enabled:
        return None
    parts = [
        select(
            NC.id.label("nid"),
            NC.campaign_id.label("cid"),
            cast(literal(name), String(16)).label("channel"),
            CONTACT_COLUMNS[name].label("address"),
        )
        .select_from(N.join(CT, CC.unit_id == NC.recipient_unit_id))
        .where(fresh, _usable(CONTACT_COLUMNS[name]))
        for name in enabled
    ]
    # UNION (not UNION ALL): two contacts of a unit may share an address.
    u = union(*parts).subquery()
    # The WHERE is for SQLite's parser: "FROM … ON CONFLICT" would read as a join.
    return select(u.c.nid, u.c.cid, u.c.channel, u.c.address, *common).where(u.c.nid.is_not(None))


def _has_contact(cols: Collection[Any]) -> Any:
    return exists().where(CC.unit_id == NC.recipient_unit_id, or_(*(_usable(c) for c in cols)))


def _bury_unreachable(session: Session, fresh: Any, channels: Collection[str] | None) -> int:
    """Notifications whose unit has no contact (or none on an enabled channel) become dead.

    Dead only for a reason the contacts themselves show — not merely "no delivery yet" —
    so a notification a concurrent tick commits after our INSERT is left for next time."""
    res = session.execute(
        update(N)
        .where(fresh, ~_has_contact(CONTACT_COLUMNS.values()))
        .values(state="dead", last_error=NO_CONTACT),
        execution_options={"preserve_rowcount": True},
    )
    dead = rowcount(res)
    enabled_cols = [v for k, v in CONTACT_COLUMNS.items() if channels is None or k in channels]
    if len(enabled_cols) < len(CONTACT_COLUMNS):
        wanted = _has_contact(enabled_cols) if enabled_cols else literal(False)
        res = session.execute(
            update(N)
            .where(fresh, _has_contact(CONTACT_COLUMNS.values()), ~wanted)
            .values(state="dead", last_error=NO_ENABLED),
            execution_options={"preserve_rowcount": True},
        )
        dead += rowcount(res)
    return dead


def expand(
    session: Session,
    campaign_id: int,
    now: datetime,
    *,
    channels: Collection[str] | None = None,
    channel_override: ChannelName | None = None,
) -> ExpandResult:
    """Create the deliveries of every queued notification that has none yet.

    One delivery per distinct non-empty email / WeCom / DingTalk / webhook reference among
    the recipient unit's contacts, limited to ``channels`` when given (the channels this
    dispatcher can send on). ``channel_override`` (the demo's file channel) makes exactly
    one delivery per notification, addressed ``"demo"``, whatever the contacts.
    Notifications left without a delivery because their unit has no usable contact become
    ``dead`` with the reason. Runs in the caller's transaction.
    """
    fresh = _fresh(campaign_id)
    source = _source(fresh, now, channels, channel_override)
    result = ExpandResult()
    if source is not None:
        stmt = (
            insert_or_ignore(session, D)
            .from_select(_COLUMNS, source)
            .on_conflict_do_nothing(index_elements=["notification_id", "channel", "address"])
        )
        # psycopg reports -1 for INSERT … SELECT unless asked to keep the count.
        res = session.execute(stmt, execution_options={"preserve_rowcount": True})
        result.deliveries = rowcount(res)
    if channel_override is None:
        result.dead = _bury_unreachable(session, fresh, channels)
    return result

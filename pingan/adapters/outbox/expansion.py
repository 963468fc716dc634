"""Expansion: each queued notification becomes one delivery per person of the recipient
unit, on that person's preferred personal channel, plus one per distinct group address
(robot, webhook, shared mailbox), in one INSERT … SELECT … ON CONFLICT DO NOTHING
(pingan.adapters.outbox.addressing says who is reached how)."""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Integer,
    String,
    and_,
    case,
    cast,
    exists,
    literal,
    null,
    select,
    union,
    update,
)
from sqlalchemy.orm import Session

from pingan.adapters.channels.base import ChannelName
from pingan.adapters.db.bulk import insert_or_ignore, rowcount
from pingan.adapters.outbox.addressing import (
    CC,
    CHANNEL_LABELS,
    CT,
    GROUP_COLUMNS,
    Ladder,
    any_address,
    enabled_address,
    reaches_group,
    registered,
)
from pingan.adapters.outbox.tables import DC, NC, D, N, among
from pingan.core.campaign.model import DEFAULT_PREFERENCE

NO_CONTACT = "收件单位未登记任何联系方式"
NO_ENABLED = "收件单位登记的联系方式均不属于已启用的渠道"
DEMO_ADDRESS = "demo"
EXPAND_CHUNK = 20_000  # notifications expanded per INSERT
COLUMNS = [
    "notification_id",
    "campaign_id",
    "channel",
    "address",
    "contact_id",
    "rank",
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


def _fresh(campaign_id: int) -> Any:
    """Queued notifications of the campaign that have no delivery yet."""
    return and_(
        NC.campaign_id == campaign_id,
        NC.state == "queued",
        ~exists().where(DC.notification_id == NC.id),
    )


def common_values(now: datetime) -> list[Any]:
    """The state, attempts, times and parts of a new delivery, in ``COLUMNS`` order."""
    return [literal("queued"), literal(0), literal(now), literal(now), literal(0)]


def _group_parts(fresh: Any, channels: Collection[str] | None) -> list[Any]:
    return [
        select(
            NC.id.label("nid"),
            NC.campaign_id.label("cid"),
            cast(literal(name), String(16)).label("channel"),
            GROUP_COLUMNS[name].label("address"),
            cast(null(), Integer).label("contact_id"),
            cast(null(), Integer).label("rank"),
        )
        .select_from(N.join(CT, CC.unit_id == NC.recipient_unit_id))
        .where(fresh, reaches_group(name))
        for name in GROUP_COLUMNS
        if channels is None or name in channels
    ]


def _person_part(fresh: Any, ladder: Ladder) -> Any:
    """Each person of the recipient unit at their first usable channel of the ladder."""
    ranked = (
        select(
            NC.id.label("nid"),
            NC.campaign_id.label("cid"),
            CC.id.label("contact_id"),
            ladder.first_rank().label("rank"),
            *ladder.address_columns(),
        )
        .select_from(N.join(CT, CC.unit_id == NC.recipient_unit_id))
        .where(fresh, ladder.reachable())
        .subquery()
    )
    return select(
        ranked.c.nid,
        ranked.c.cid,
        cast(ladder.channel_of(ranked.c.rank), String(16)).label("channel"),
        ladder.address_of(ranked.c.rank, ranked).label("address"),
        ranked.c.contact_id,
        ranked.c.rank,
    )


def _source(
    fresh: Any,
    now: datetime,
    channels: Collection[str] | None,
    channel_override: ChannelName | None,
    ladder: Ladder,
) -> Any:
    """The rows to insert, in ``COLUMNS`` order; None when no channel can be addressed."""
    common = common_values(now)
    if channel_override is not None:
        return select(
            NC.id,
            NC.campaign_id,
            literal(channel_override),
            literal(DEMO_ADDRESS),
            null(),
            null(),
            *common,
        ).where(fresh)
    parts = _group_parts(fresh, channels)
    if ladder.ranked:
        parts.append(_person_part(fresh, ladder))
    if not parts:
        return None
    # UNION (not UNION ALL): two contacts of a unit may share a group address.
    u = union(*parts).subquery()
    # The WHERE is for SQLite's parser: "FROM … ON CONFLICT" would read as a join.
    return select(
        u.c.nid, u.c.cid, u.c.channel, u.c.address, u.c.contact_id, u.c.rank, *common
    ).where(u.c.nid.is_not(None))


def _has(cond: Any) -> Any:
    """The recipient unit has a contact row meeting ``cond``."""
    return exists().where(CC.unit_id == NC.recipient_unit_id, cond)


def _bury_unreachable(
    session: Session, fresh: Any, channels: Collection[str] | None, ladder: Ladder
) -> int:
    """Notifications whose unit has no contact (or none on an enabled channel) become dead.

    Dead only for a reason the contacts themselves show — not merely "no delivery yet" —
    so a notification a concurrent tick commits after our INSERT is left for next time."""
    res = session.execute(
        update(N).where(fresh, ~_has(any_address())).values(state="dead", last_error=NO_CONTACT),
        execution_options={"preserve_rowcount": True},
    )
    dead = rowcount(res)
    unreachable = and_(fresh, _has(any_address()), ~_has(enabled_address(ladder, channels)))
    return dead + _bury_naming_channels(session, unreachable)


def _bury_naming_channels(session: Session, unreachable: Any) -> int:
    """Kill ``unreachable`` notifications, naming the channels their unit registered: one
    UPDATE per distinct set of channels (a bit mask over addressing.registered())."""
    ways = registered()
    mask = sum(
        (case((_has(cond), literal(1 << i)), else_=literal(0)) for i, (_, cond) in enumerate(ways)),
        literal(0),
    )
    dead = 0
    for m in session.scalars(select(mask).where(unreachable).distinct()).all():
        names = dict.fromkeys(CHANNEL_LABELS[n] for i, (n, _) in enumerate(ways) if m >> i & 1)
        reason = f"{NO_ENABLED}（已登记：{'、'.join(names)}）"
        res = session.execute(
            update(N).where(unreachable, mask == m).values(state="dead", last_error=reason),
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
    preference: Sequence[str] = DEFAULT_PREFERENCE,
) -> ExpandResult:
    """Create the deliveries of every queued notification that has none yet.

    One delivery per person of the recipient unit, on their first channel of
    ``preference`` they have an address for, and one per distinct group address (robot,
    webhook, shared mailbox); all limited to ``channels`` when given (the channels this
    dispatcher can send on). ``channel_override`` (the demo's file channel) makes exactly
    one delivery per notification, addressed ``"demo"``, whatever the contacts.
    Notifications left without a delivery because their unit has no usable contact become
    ``dead`` with the reason. Runs in the caller's transaction.
    """
    fresh = _fresh(campaign_id)
    ladder = Ladder.of(preference, channels)
    result = ExpandResult()
    bury = channel_override is None  # the demo's override reaches every notification
    for ids in _fresh_ids(session, fresh):
        source = _source(_chunk(session, fresh, ids), now, channels, channel_override, ladder)
        if source is None:  # no channel can be addressed: every fresh one is unreachable
            result.dead += _bury_unreachable(session, fresh, channels, ladder)
            break
        reached = insert_deliveries(session, source)
        result.deliveries += len(reached)
        # Only a notification left without a delivery can be unreachable: when all were
        # reached (the usual case), the scans that name the reason are not run at all.
        missed = sorted(set(ids).difference(reached))
        if bury and missed:
            scope = and_(fresh, among(session.connection(), NC.id, missed))
            result.dead += _bury_unreachable(session, scope, channels, ladder)
    return result


def _fresh_ids(session: Session, fresh: Any) -> Iterator[list[int]]:
    """The ids of the ``fresh`` notifications, a chunk at a time, each read before its
    deliveries are inserted.

    Not one INSERT … SELECT … WHERE NOT EXISTS (a delivery): while delivery's statistics
    still say it is empty (a new database, a first dispatch), PostgreSQL checks each
    notification with a scan of the whole table, pages the same INSERT is adding included,
    so the first expansion grew with the square of the outbox (40,000 notifications: 9.4 s
    against 0.8 s once the table had rows). Read first, each check scans a table that does
    not grow meanwhile, and the next chunk is planned with its real size."""
    last = 0
    while True:
        ids = list(
            session.scalars(
                select(NC.id).where(fresh, NC.id > last).order_by(NC.id).limit(EXPAND_CHUNK)
            )
        )
        if not ids:
            return
        yield ids
        last = ids[-1]


def _chunk(session: Session, fresh: Any, ids: list[int]) -> Any:
    """The notifications of one chunk: on PostgreSQL its ids, as one array parameter; on
    SQLite the fresh ones in the ids' range (its NOT EXISTS probes delivery's unique index
    whatever the statistics, and 20,000 bound ids would cost more than they save)."""
    if session.get_bind().dialect.name == "postgresql":
        return among(session.connection(), NC.id, ids)
    return and_(fresh, NC.id.between(ids[0], ids[-1]))


def insert_deliveries(session: Session, source: Any) -> list[int]:
    """Insert ``source``'s rows (in ``COLUMNS`` order), skipping any (notification,
    channel, address) that exists already — so concurrent dispatchers never double one.
    The notification id of each row inserted."""
    stmt = (
        insert_or_ignore(session, D)
        .from_select(COLUMNS, source)
        .on_conflict_do_nothing(index_elements=["notification_id", "channel", "address"])
        .returning(DC.notification_id)
    )
    return list(session.scalars(stmt))

"""The outbox dispatcher: expand → claim → render → rate-limit → send → mark → roll up.

* ``expand`` turns each queued notification into deliveries, one per (channel, address) of
  the recipient unit's contacts, in one INSERT … SELECT … ON CONFLICT DO NOTHING.
* ``claim`` leases due deliveries (FOR UPDATE SKIP LOCKED on PostgreSQL; SQLite serialises
  writers), so two dispatchers never hold the same row; a dead worker's lease runs out and
  its rows come back.
* ``dispatch`` sends each claimed delivery and marks it in its own short transaction
  before the next send, so a killed worker repeats at most the one message it had in
  flight. Delivery is at-least-once; the dedupe key travels with every message so
  receivers that can deduplicate do.

Notification state is a roll-up of its deliveries, refreshed every ROLLUP_EVERY rows or
ROLLUP_EVERY_S seconds and at the end of every run (``reconcile``, which also repairs what a
killed worker left):

  failed     some delivery waits for a retry
  leased     none waits for a retry, some is being sent
  queued     none of the above, some not tried yet (or deferred by a rate limit)
  sent       all deliveries finished and at least one reached the unit — a dead side
             channel (say a revoked robot key) stays visible as a dead *delivery*
  cancelled  all finished, none sent, some cancelled: the obligation was done or waived
             before sending, so nothing is owed any more
  dead       all finished, none sent, none cancelled (or no usable contact at all)
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    Connection,
    Engine,
    String,
    and_,
    case,
    cast,
    exists,
    func,
    literal,
    or_,
    select,
    union,
    update,
)
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from pingan.adapters.channels.base import (
    Attachment,
    Channel,
    ChannelName,
    DeliveryError,
    Message,
    Target,
)
from pingan.adapters.db.base import table, utcnow
from pingan.adapters.db.bulk import insert_or_ignore, rowcount
from pingan.adapters.db.deliveries import (
    DELIVERY_STATES,
    PENDING_STATES,
    DeliveryRow,
    EndpointRateRow,
    delivery_counts,
)
from pingan.adapters.db.messages import digest_context, render_notifications
from pingan.adapters.db.notifications import NotificationRow
from pingan.adapters.db.obligations import ObligationRow
from pingan.adapters.db.units import ContactRow, UnitRow
from pingan.adapters.render.late_list import late_list_xlsx
from pingan.core.campaign import Campaign
from pingan.core.gates import Ladder
from pingan.core.problems import InputError, Problem
from pingan.core.progress import Progress, nothing

D = table(DeliveryRow)
DC = D.c
N = table(NotificationRow)
NC = N.c
CT = table(ContactRow)
CC = CT.c
RT = table(EndpointRateRow)
OB = table(ObligationRow).c

NO_CONTACT = "收件单位未登记任何联系方式"
NO_ENABLED = "收件单位登记的联系方式均不属于已启用的渠道"
CANCELLED = "事项已完成或已豁免，无需再发"
LEASE_EXPIRED = "上次发送未完成（进程中断或租约超时）"
TOO_MANY_INTERRUPTS = "多次发送均未完成（进程中断或租约超时），已停止重试"
ERROR_LIMIT = 1000
SUBJECT_LIMIT = 500
RATE_WINDOW_S = 60
MAX_BACKOFF_S = 6 * 3600
DEFAULT_RATES: Mapping[str, int] = {"wecom": 20, "dingtalk": 20}
# Columns of a contact that address each channel; the demo's file channel has none.
CONTACT_COLUMNS: Mapping[str, Any] = {
    "email": CC.email,
    "wecom": CC.wecom_ref,
    "dingtalk": CC.dingtalk_ref,
    "webhook": CC.webhook_ref,
}
DEMO_ADDRESS = "demo"
# Notification states follow their deliveries within this many rows or seconds.
ROLLUP_EVERY = 1000
ROLLUP_EVERY_S = 5.0


def _usable(col: Any) -> Any:
    return and_(col.is_not(None), col != "")


# --- expand ----------------------------------------------------------------------------------


@dataclass
class ExpandResult:
    deliveries: int = 0  # delivery rows created
    dead: int = 0  # notifications with no usable contact


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
    fresh = and_(
        NC.campaign_id == campaign_id,
        NC.state == "queued",
        ~exists().where(DC.notification_id == NC.id),
    )
    common = [literal("queued"), literal(0), literal(now), literal(now), literal(0)]
    if channel_override is not None:
        source: Any = select(
            NC.id, NC.campaign_id, literal(channel_override), literal(DEMO_ADDRESS), *common
        ).where(fresh)
    else:
        enabled = [c for c in CONTACT_COLUMNS if channels is None or c in channels]
        if not enabled:
            source = None
        else:
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
            source = select(u.c.nid, u.c.cid, u.c.channel, u.c.address, *common).where(
                u.c.nid.is_not(None)
            )
    result = ExpandResult()
    if source is not None:
        stmt = (
            insert_or_ignore(session, D)
            .from_select(
                [
                    "notification_id",
                    "campaign_id",
                    "channel",
                    "address",
                    "state",
                    "attempts",
                    "next_attempt_at",
                    "created_at",
                    "parts",
                ],
                source,
            )
            .on_conflict_do_nothing(index_elements=["notification_id", "channel", "address"])
        )
        # psycopg reports -1 for INSERT … SELECT unless asked to keep the count.
        res = session.execute(stmt, execution_options={"preserve_rowcount": True})
        result.deliveries = rowcount(res)
    if channel_override is not None:
        return result

    # Dead only for a reason the contacts themselves show — not merely "no delivery yet" —
    # so a notification a concurrent tick commits after our INSERT is left for next time.
    def has_contact(cols: Collection[Any]) -> Any:
        return exists().where(CC.unit_id == NC.recipient_unit_id, or_(*(_usable(c) for c in cols)))

    res = session.execute(
        update(N)
        .where(fresh, ~has_contact(CONTACT_COLUMNS.values()))
        .values(state="dead", last_error=NO_CONTACT),
        execution_options={"preserve_rowcount": True},
    )
    result.dead = rowcount(res)
    enabled_cols = [v for k, v in CONTACT_COLUMNS.items() if channels is None or k in channels]
    if len(enabled_cols) < len(CONTACT_COLUMNS):
        wanted = has_contact(enabled_cols) if enabled_cols else literal(False)
        res = session.execute(
            update(N)
            .where(fresh, has_contact(CONTACT_COLUMNS.values()), ~wanted)
            .values(state="dead", last_error=NO_ENABLED),
            execution_options={"preserve_rowcount": True},
        )
        result.dead += rowcount(res)
    return result


# --- claim ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Claimed:
    id: int
    notification_id: int
    channel: str
    address: str
    endpoint: str | None
    attempts: int
    lease_until: datetime


def _claim_one(
    conn: Connection,
    campaign_id: int,
    owner: str,
    now: datetime,
    limit: int,
    lease_until: datetime,
    due: Any,
    *,
    expired: bool,
) -> list[Claimed]:
    # The index (campaign_id, state, next_attempt_at) serves each kind of due row in order,
    # which one statement over all three states could not.
    ids = (
        select(DC.id)
        .where(DC.campaign_id == campaign_id, due)
        .order_by(DC.next_attempt_at)
        .limit(limit)
        .with_for_update(skip_locked=True)  # rendered on PostgreSQL only
    )
    values: dict[str, Any] = {"state": "leased", "lease_owner": owner, "lease_until": lease_until}
    if expired:
        # A lease that ran out means a send began and never finished: count it, so a
        # message that kills its worker cannot be retried for ever.
        values["attempts"] = DC.attempts + 1
        values["last_error"] = LEASE_EXPIRED
    stmt = (
        update(D)
        .where(DC.id.in_(ids))
        .values(**values)
        .returning(
            DC.id,
            DC.notification_id,
            DC.channel,
            DC.address,
            DC.endpoint,
            DC.attempts,
            DC.lease_until,
        )
    )
    return [Claimed(*r) for r in conn.execute(stmt)]


def _claim(
    conn: Connection, campaign_id: int, owner: str, now: datetime, limit: int, lease_s: float
) -> list[Claimed]:
    """Expired leases first (a dead worker's rows), then due retries, then fresh rows."""
    lease_until = now + timedelta(seconds=lease_s)
    got: list[Claimed] = []
    for due, expired in (
        (and_(DC.state == "leased", DC.lease_until < now), True),
        (and_(DC.state == "failed", DC.next_attempt_at <= now), False),
        (and_(DC.state == "queued", DC.next_attempt_at <= now), False),
    ):
        if len(got) >= limit:
            break
        got += _claim_one(
            conn, campaign_id, owner, now, limit - len(got), lease_until, due, expired=expired
        )
    return got


def claim(
    engine: Engine,
    campaign_id: int,
    owner: str,
    now: datetime,
    limit: int,
    lease_s: float,
) -> list[Claimed]:
    """Atomically lease up to ``limit`` due deliveries for ``owner`` until now + lease_s."""
    with engine.begin() as conn:
        return _claim(conn, campaign_id, owner, now, limit, lease_s)


# --- quiet hours --------------------------------------------------------------------------------


def _minutes(text: str) -> int:
    try:
        h, m = text.strip().split(":")
        value = int(h) * 60 + int(m)
    except ValueError:
        value = -1
    if not 0 <= value < 24 * 60:
        raise ValueError(f"时间 {text!r} 格式无效，应为 HH:MM（如 20:00）")
    return value


def monday_to_friday(d: date) -> bool:
    return d.weekday() < 5


@dataclass(frozen=True)
class QuietPolicy:
    """When nothing is sent: the quiet hours [start, end) in local time (wrapping midnight
    when start > end; none when equal) and, with ``working_days_only``, every day that
    ``is_working_day`` rejects (pass the campaign calendar's, which knows 调休 days)."""

    start: str = "20:00"
    end: str = "08:00"
    working_days_only: bool = True
    tz: str = "Asia/Shanghai"
    is_working_day: Callable[[date], bool] = monday_to_friday

    def __post_init__(self) -> None:
        _minutes(self.start), _minutes(self.end)
        ZoneInfo(self.tz)

    @classmethod
    def parse(
        cls,
        quiet_hours: str | None,
        *,
        working_days_only: bool = True,
        tz: str = "Asia/Shanghai",
        is_working_day: Callable[[date], bool] = monday_to_friday,
    ) -> QuietPolicy:
        """From a campaign setting such as ``"20:00-08:00"`` (None: no quiet hours)."""
        start, sep, end = (quiet_hours or "00:00-00:00").partition("-")
        if not sep:
            raise ValueError(f"免打扰时段 {quiet_hours!r} 格式无效，应为 HH:MM-HH:MM")
        return cls(start.strip(), end.strip(), working_days_only, tz, is_working_day)

    def _free(self) -> list[tuple[int, int]]:
        """Allowed [from, to) minutes of a day."""
        s, e = _minutes(self.start), _minutes(self.end)
        if s == e:
            return [(0, 24 * 60)]
        if s < e:
            return [(0, s), (e, 24 * 60)]
        return [(e, s)]

    def next_allowed(self, now: datetime) -> datetime | None:
        """None when sending is allowed at ``now`` (naive UTC); else the next allowed
        moment, naive UTC."""
        zone = ZoneInfo(self.tz)
        local = now.replace(tzinfo=UTC).astimezone(zone)
        minute_now = local.hour * 60 + local.minute + (local.second + local.microsecond / 1e6) / 60
        for k in range(0, 400):
            d = local.date() + timedelta(days=k)
            if self.working_days_only and not self.is_working_day(d):
                continue
            for lo, hi in self._free():
                if k == 0 and minute_now >= hi:
                    continue
                if k == 0 and minute_now >= lo:
                    return None
                at = datetime.combine(d, dtime(lo // 60, lo % 60), zone)
                return at.astimezone(UTC).replace(tzinfo=None)
        raise ValueError("未来一年内没有允许发送的时间，请检查免打扰设置与工作日历")


# --- dispatch ---------------------------------------------------------------------------------


@dataclass
class DispatchReport:
    sent: int = 0
    failed: int = 0  # failed this run, will be retried
    dead: int = 0  # deliveries given up this run
    cancelled: int = 0
    deferred: int = 0  # due, but held back by quiet hours
    rate_limited: int = 0  # put back until their endpoint's window reopens
    expanded: int = 0  # deliveries created
    no_contact: int = 0  # notifications dead for want of a contact
    lost_leases: int = 0  # rows another worker took over before we sent them
    batches: int = 0
    quiet_until: datetime | None = None  # naive UTC: when sending may start
    next_due_at: datetime | None = None  # naive UTC: the earliest pending row
    errors: dict[str, int] = field(default_factory=dict)  # by error code

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        for k in ("quiet_until", "next_due_at"):
            v = out[k]
            out[k] = v.isoformat() if v else None
        return out

    def summary_zh(self) -> str:
        text = (
            f"发送成功 {self.sent} 条，待重试 {self.failed} 条，放弃 {self.dead} 条，"
            f"取消 {self.cancelled} 条，限流顺延 {self.rate_limited} 条"
        )
        if self.no_contact:
            text += f"，无联系方式 {self.no_contact} 条"
        if self.quiet_until:
            text += f"；当前为免打扰时段，{self.deferred} 条待发，{self.quiet_until} (UTC) 后发送"
        return text


def default_owner() -> str:
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@lru_cache(maxsize=32)
def _mark_sql(keys: tuple[str, ...], placeholder: str) -> str:
    sets = ", ".join(f"{k} = {placeholder}" for k in keys)
    return (
        f"UPDATE delivery SET {sets} WHERE id = {placeholder} AND state = 'leased' "
        f"AND lease_owner = {placeholder}"
    )


def _sqlite_value(value: Any) -> Any:
    """As SQLAlchemy's SQLite DateTime stores it, so comparisons with its rows hold."""
    return value.strftime("%Y-%m-%d %H:%M:%S.%f") if isinstance(value, datetime) else value


def _mark(conn: Connection, row_id: int, owner: str, values: Mapping[str, Any]) -> bool:
    """Write a leased row's outcome, unless another worker took it over meanwhile.

    ``conn`` is in autocommit mode: the UPDATE is its own transaction, one round trip.
    It runs once per message between two sends, so it goes straight to the DBAPI cursor
    (as pingan.adapters.db.bulk does): SQLAlchemy's per-execution work cost as much as the UPDATE.
    """
    keys = tuple(sorted(values))
    if conn.dialect.name == "sqlite":
        sql = _mark_sql(keys, "?")
        params = [_sqlite_value(values[k]) for k in keys]
    else:
        sql = _mark_sql(keys, "%s")
        params = [values[k] for k in keys]
    raw: Any = conn.connection.driver_connection
    cur = raw.cursor()
    try:
        cur.execute(sql, [*params, row_id, owner])
        return int(cur.rowcount) == 1
    finally:
        cur.close()


def _take_slot(conn: Connection, endpoint: str, limit: int, now: datetime) -> tuple[bool, datetime]:
    """One send on ``endpoint`` within its shared one-minute window: (granted, reopens_at).

    A single upsert, so it is atomic in autocommit mode too, and PostgreSQL's row lock makes
    concurrent workers take turns. ``used`` counts requests, refused ones included: once it
    passes ``limit`` the window is full until it is older than a minute and starts afresh.
    """
    stale = RT.c.window_start <= now - timedelta(seconds=RATE_WINDOW_S)
    stmt = (
        insert_or_ignore(conn, RT)
        .values(endpoint=endpoint, window_start=now, used=1)
        .on_conflict_do_update(
            index_elements=["endpoint"],
            set_={
                "window_start": case((stale, now), else_=RT.c.window_start),
                "used": case((stale, 1), else_=RT.c.used + 1),
            },
        )
        .returning(RT.c.window_start, RT.c.used)
    )
    start, used = conn.execute(stmt).one()
    return int(used) <= limit, start + timedelta(seconds=RATE_WINDOW_S)


def _renew(conn: Connection, ids: Sequence[int], owner: str, until: datetime) -> set[int]:
    return set(
        conn.scalars(
            update(D)
            .where(DC.id.in_(list(ids)), DC.state == "leased", DC.lease_owner == owner)
            .values(lease_until=until)
            .returning(DC.id)
        )
    )


def _rollup(conn: Connection, deliveries_of: Any) -> int:
    """Set each notification's state from its deliveries (rule: module docstring).

    ``deliveries_of`` selects the deliveries (by notification) to roll up. One grouped
    scan of their deliveries, joined in with UPDATE … FROM, rather than a handful of
    correlated subqueries per notification."""

    def flag(*states: str) -> Any:
        return func.max(case((DC.state.in_(states), 1), else_=0))

    agg = (
        select(
            DC.notification_id.label("nid"),
            flag("failed").label("failed"),
            flag("leased").label("leased"),
            flag("queued").label("queued"),
            flag("sent").label("sent"),
            flag("cancelled").label("cancelled"),
            func.max(DC.attempts).label("attempts"),
            func.max(DC.sent_at).label("sent_at"),
            # Some error of a delivery still failing or dead; which one does not matter.
            func.max(case((DC.state.in_(("dead", "failed")), DC.last_error))).label("error"),
        )
        .where(deliveries_of)
        .group_by(DC.notification_id)
        .subquery()
    )
    state = case(
        (agg.c.failed == 1, literal("failed")),
        (agg.c.leased == 1, literal("leased")),
        (agg.c.queued == 1, literal("queued")),
        (agg.c.sent == 1, literal("sent")),
        (agg.c.cancelled == 1, literal("cancelled")),
        else_=literal("dead"),
    )
    res = conn.execute(
        update(N)
        .where(NC.id == agg.c.nid)
        .values(
            state=state,
            attempts=agg.c.attempts,
            sent_at=agg.c.sent_at,
            last_error=agg.c.error,
        ),
        execution_options={"preserve_rowcount": True},
    )
    return rowcount(res)


def rollup_notifications(conn: Connection, notification_ids: Sequence[int]) -> None:
    """Autocommit connection, or the caller commits."""
    if notification_ids:
        _rollup(conn, DC.notification_id.in_(list(notification_ids)))


def reconcile(conn: Connection, campaign_id: int) -> int:
    """Roll up every unfinished notification: repairs those whose deliveries a killed
    worker marked but never rolled up. Cheap: unfinished notifications are few once sent."""
    pending = N.alias("pending")
    return _rollup(
        conn,
        DC.notification_id.in_(
            select(pending.c.id).where(
                pending.c.campaign_id == campaign_id, pending.c.state.in_(PENDING_STATES)
            )
        ),
    )


_DEADLOCK = "40P01"  # PostgreSQL's deadlock_detected


def _again_on_deadlock(step: Callable[..., object], *args: Any) -> None:
    """Run a roll-up, again if PostgreSQL chose it as the victim of a deadlock.

    Two dispatchers rolling up overlapping notifications lock them in different orders,
    and PostgreSQL aborts one. A roll-up only recomputes states from the deliveries, so it
    is safe to repeat; the connection is in autocommit mode, so nothing else is undone.
    """
    tries = 5
    for attempt in range(tries):
        try:
            step(*args)
            return
        except OperationalError as exc:
            if attempt == tries - 1 or getattr(exc.orig, "sqlstate", None) != _DEADLOCK:
                raise
            time.sleep(0.05 * (attempt + 1))


def _next_due(conn: Connection, campaign_id: int) -> datetime | None:
    waiting = conn.scalar(
        select(func.min(DC.next_attempt_at)).where(
            DC.campaign_id == campaign_id, DC.state.in_(("queued", "failed"))
        )
    )
    leased = conn.scalar(
        select(func.min(DC.lease_until)).where(DC.campaign_id == campaign_id, DC.state == "leased")
    )
    times = [t for t in (waiting, leased) if t is not None]
    return min(times) if times else None


def _due_count(conn: Connection, campaign_id: int, now: datetime) -> int:
    return int(
        conn.scalar(
            select(func.count()).where(
                DC.campaign_id == campaign_id,
                or_(
                    and_(DC.state.in_(("queued", "failed")), DC.next_attempt_at <= now),
                    and_(DC.state == "leased", DC.lease_until < now),
                ),
            )
        )
        or 0
    )


def _messages(
    conn: Connection,
    engine: Engine,
    campaign: Campaign,
    campaign_id: int,
    nids: Sequence[int],
    today: date,
    templates_dir: Path | None,
) -> tuple[dict[int, Message], dict[int, str], set[int]]:
    """(messages, render errors, cancelled) for a batch's notifications.

    Cancelled: the obligation behind a reminder or escalation was done or waived by
    ``today``. Messages are frozen: the first rendering is stored on the notification and
    every later send — a retry, a second channel, another worker — uses the stored text,
    so what was sent stays auditable. One query for the common case (already rendered).
    """
    done = case((or_(OB.waived, and_(OB.done_on.is_not(None), OB.done_on <= today)), 1), else_=0)

    def load(ids: Sequence[int]) -> list[Any]:
        return list(
            conn.execute(
                select(NC.id, NC.subject, NC.body, NC.dedupe_key, done.label("done"))
                .select_from(N.outerjoin(table(ObligationRow), OB.id == NC.obligation_id))
                .where(NC.id.in_(list(ids)))
            )
        )

    rows = load(nids)
    cancelled = {r.id for r in rows if r.done}
    missing = [r.id for r in rows if not r.done and (r.subject is None or r.body is None)]
    errors: dict[int, str] = {}
    if missing:
        with Session(engine) as session:
            try:
                rendered = render_notifications(
                    session, campaign, campaign_id, missing, today, templates_dir
                )
            except Exception:
                # One broken notification must not hold back the batch: render one by
                # one and give up only on the ones that fail.
                rendered = []
                for nid in missing:
                    try:
                        rendered += render_notifications(
                            session, campaign, campaign_id, [nid], today, templates_dir
                        )
                    except Exception as exc:
                        errors[nid] = f"消息渲染失败：{type(exc).__name__}: {exc}"[:ERROR_LIMIT]
            for r in rendered:
                # "subject IS NULL": a concurrent worker's first rendering wins.
                session.execute(
                    update(N)
                    .where(NC.id == r.notification_id, NC.subject.is_(None))
                    .values(subject=r.subject[:SUBJECT_LIMIT], body=r.body)
                )
            session.commit()
        fresh = {r.id: r for r in load(missing)}
        rows = [fresh.get(r.id, r) for r in rows]
    live = [r for r in rows if not r.done and r.subject is not None and r.body is not None]
    with Session(bind=conn) as session:
        extras = _extras(session, campaign, campaign_id, [r.id for r in live], today)
    messages = {
        r.id: Message(
            subject=r.subject,
            body=r.body,
            markdown=_markdown(r.subject, r.body),
            dedupe_key=r.dedupe_key,
            **extras.get(r.id, {}),
        )
        for r in live
    }
    return messages, errors, cancelled


def _markdown(subject: str, body: str) -> str:
    """Robots render markdown: a bold title, then the body with its line breaks kept."""
    return f"**{subject}**\n\n" + "\n".join(line.strip() for line in body.splitlines())


def _extras(
    session: Session, campaign: Campaign, campaign_id: int, nids: Sequence[int], today: date
) -> dict[int, dict[str, Any]]:
    """@mentions (the recipient's registered mobiles) and, for digests, the full list of
    late items as an XLSX attachment (email carries it; robots ignore attachments)."""
    if not nids:
        return {}
    heads = {
        nid: (unit_id, kind, planned_on or today)
        for nid, unit_id, kind, planned_on in session.execute(
            select(NC.id, NC.recipient_unit_id, NC.kind, NC.planned_on).where(NC.id.in_(list(nids)))
        )
    }
    mobiles: dict[int, set[str]] = {}
    for unit_id, mobile in session.execute(
        select(ContactRow.unit_id, ContactRow.mobile).where(
            ContactRow.unit_id.in_({u for u, _, _ in heads.values()}),
            ContactRow.mobile.is_not(None),
        )
    ):
        if mobile:
            mobiles.setdefault(unit_id, set()).add(mobile)
    ladder = Ladder.of(campaign)
    out: dict[int, dict[str, Any]] = {}
    for nid, (unit_id, kind, day) in heads.items():
        extra: dict[str, Any] = {"mentions": tuple(sorted(mobiles.get(unit_id, ())))}
        if kind == "digest":
            ctx = digest_context(session, campaign_id, ladder, unit_id)
            title = f"{campaign.short_name or campaign.name} 逾期事项清单（截至 {day}）"
            extra["attachments"] = (
                Attachment(
                    f"late-items-{day.isoformat()}.xlsx",
                    late_list_xlsx(title, ctx["items"]),
                    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                ),
            )
        out[nid] = extra
    return out


def _fast_commits(conn: Connection, on: bool) -> None:
    """On PostgreSQL, commit marks without waiting for the WAL flush.

    Each send is marked in its own commit (that is what bounds duplicates after a kill),
    and an fsync per message would cost more than the send. Safe: a killed *worker* loses
    nothing (the server has the commit); only a crash of the database server itself can
    lose the last fraction of a second of marks, and that re-sends — never loses — them.
    """
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"SET synchronous_commit TO {'OFF' if on else 'DEFAULT'}")


def _backoff(attempts: int, base_s: float, cap_s: float) -> float:
    return float(min(base_s * 2 ** max(attempts - 1, 0), cap_s))


def dispatch(
    engine: Engine,
    campaign: Campaign,
    campaign_id: int,
    channels: Mapping[str, Channel],
    *,
    now_fn: Callable[[], datetime] = utcnow,
    owner: str | None = None,
    batch: int = 50,
    lease_s: float = 300,
    max_attempts: int = 6,
    base_backoff_s: float = 60,
    max_backoff_s: float = MAX_BACKOFF_S,
    rate_per_minute: Mapping[str, int] | None = None,
    quiet: QuietPolicy | None = None,
    sleep_fn: Callable[[float], None] = time.sleep,
    wait_up_to_s: float = 0,
    max_batches: int | None = None,
    channel_override: ChannelName | None = None,
    templates_dir: Path | None = None,
    progress: Progress = nothing,
) -> DispatchReport:
    """Send everything due now, batch by batch, then return what happened.

    ``channels`` maps a channel name to its implementation; deliveries for a channel not in
    the mapping become dead (re-queue them with ``retry`` once it is configured).
    ``rate_per_minute`` caps sends per endpoint per minute across all workers (default:
    WeCom and DingTalk robots at 20); a message over the cap waits for the next window
    instead of failing. ``wait_up_to_s`` keeps the loop alive for rows that become due
    within that many seconds (retries with short back-off, a dead worker's leases); the
    default returns as soon as nothing is due. ``lease_s`` must exceed a batch's sending
    time by a margin; leases are renewed when half of one has passed, but a single send
    that outlives its lease may be repeated by another worker.
    """
    owner = owner or default_owner()
    rates = DEFAULT_RATES if rate_per_minute is None else rate_per_minute
    zone = ZoneInfo(campaign.timezone)
    report = DispatchReport()
    enabled = [channel_override] if channel_override else list(channels)
    with Session(engine) as session:
        ex = expand(
            session, campaign_id, now_fn(), channels=enabled, channel_override=channel_override
        )
        session.commit()
    report.expanded, report.no_contact = ex.deliveries, ex.dead
    endpoints: dict[tuple[str, str], str] = {}
    waited = 0.0
    # Notifications touched but not yet rolled up; done in chunks (and by ``reconcile`` at
    # the end) because a roll-up per batch cost as much as a tenth of the sends.
    unrolled: set[int] = set()
    rolled_at = time.monotonic()
    with engine.connect() as conn:
        # Autocommit: every statement below is atomic on its own (a claim, a mark, a
        # rate slot, a roll-up), and a commit per message is one round trip, not three.
        conn.execution_options(isolation_level="AUTOCOMMIT")
        _fast_commits(conn, True)
        total = _due_count(conn, campaign_id, now_fn())
        progress(0, total)
        try:
            while max_batches is None or report.batches < max_batches:
                now = now_fn()
                if quiet is not None:
                    until = quiet.next_allowed(now)
                    if until is not None:
                        report.quiet_until = until
                        report.deferred = _due_count(conn, campaign_id, now)
                        break
                rows = _claim(conn, campaign_id, owner, now, batch, lease_s)
                if not rows:
                    report.next_due_at = _next_due(conn, campaign_id)
                    if report.next_due_at is None or waited >= wait_up_to_s:
                        break
                    # A floor on each nap keeps a frozen test clock from spinning here.
                    nap = max((report.next_due_at - now).total_seconds(), 0.05)
                    if waited + nap > wait_up_to_s:
                        break
                    sleep_fn(nap)
                    waited += nap
                    continue
                report.batches += 1
                unrolled.update(r.notification_id for r in rows)
                _send_batch(
                    conn,
                    engine,
                    campaign,
                    campaign_id,
                    channels,
                    rows,
                    report,
                    endpoints,
                    owner=owner,
                    now_fn=now_fn,
                    today=now.replace(tzinfo=UTC).astimezone(zone).date(),
                    lease_s=lease_s,
                    max_attempts=max_attempts,
                    base_backoff_s=base_backoff_s,
                    max_backoff_s=max_backoff_s,
                    rates=rates,
                    templates_dir=templates_dir,
                )
                handled = report.sent + report.failed + report.dead + report.cancelled
                progress(min(handled, total), max(total, handled))
                if len(unrolled) >= ROLLUP_EVERY or time.monotonic() - rolled_at >= ROLLUP_EVERY_S:
                    _again_on_deadlock(rollup_notifications, conn, sorted(unrolled))
                    unrolled.clear()
                    rolled_at = time.monotonic()
            # Includes whatever is left in ``unrolled``.
            _again_on_deadlock(reconcile, conn, campaign_id)
        finally:
            if not conn.closed and not conn.invalidated:
                _fast_commits(conn, False)
    return report


def _send_batch(
    conn: Connection,
    engine: Engine,
    campaign: Campaign,
    campaign_id: int,
    channels: Mapping[str, Channel],
    rows: list[Claimed],
    report: DispatchReport,
    endpoints: dict[tuple[str, str], str],
    *,
    owner: str,
    now_fn: Callable[[], datetime],
    today: date,
    lease_s: float,
    max_attempts: int,
    base_backoff_s: float,
    max_backoff_s: float,
    rates: Mapping[str, int],
    templates_dir: Path | None,
) -> None:
    nids = sorted({r.notification_id for r in rows})
    messages, render_errors, cancelled = _messages(
        conn, engine, campaign, campaign_id, nids, today, templates_dir
    )
    full: dict[str, datetime] = {}  # endpoints whose window is used up, until it reopens
    lease_until = min(r.lease_until for r in rows)
    mine = {r.id for r in rows}

    def finish(row: Claimed, state: str, error: str | None, endpoint: str | None = None) -> None:
        values: dict[str, Any] = {"state": state, "lease_until": None}
        if error is not None:
            values["last_error"] = error[:ERROR_LIMIT]
        if endpoint is not None:
            values["endpoint"] = endpoint
        if _mark(conn, row.id, owner, values):
            setattr(report, state, getattr(report, state) + 1)
        else:
            report.lost_leases += 1

    for row in rows:
        if row.id not in mine:
            report.lost_leases += 1
            continue
        if row.notification_id in cancelled:
            finish(row, "cancelled", CANCELLED)
            continue
        channel = channels.get(row.channel)
        if channel is None:
            finish(row, "dead", f"渠道 {row.channel} 未启用，无法发送")
            continue
        if row.attempts >= max_attempts:
            finish(row, "dead", TOO_MANY_INTERRUPTS)
            continue
        if row.notification_id in render_errors:
            finish(row, "dead", render_errors[row.notification_id])
            continue
        message = messages.get(row.notification_id)
        if message is None:  # rendering produced nothing (say, its recipient unit is gone)
            finish(row, "dead", "无法生成消息内容（通知或收件单位记录缺失）")
            continue
        target = Target(row.channel, row.address)  # type: ignore[arg-type]  # our own rows
        key = (row.channel, row.address)
        endpoint = row.endpoint or endpoints.get(key)
        if endpoint is None:
            try:
                endpoint = channel.endpoint(target)
            except Exception as exc:
                # Only the class name: a message could quote what the reference resolved to.
                finish(row, "dead", f"地址 {row.address} 无法解析（{type(exc).__name__}）")
                continue
            endpoints[key] = endpoint
        now = now_fn()
        if now >= lease_until - timedelta(seconds=lease_s / 2):
            lease_until = now + timedelta(seconds=lease_s)
            mine = _renew(conn, [r.id for r in rows if r.id in mine], owner, lease_until)
            if row.id not in mine:
                report.lost_leases += 1
                continue
        limit = rates.get(row.channel)
        if limit is not None:
            reopens = full.get(endpoint)
            if reopens is None or now >= reopens:
                granted, reopens = _take_slot(conn, endpoint, limit, now)
                if granted:
                    full.pop(endpoint, None)
                else:
                    full[endpoint] = reopens
            if endpoint in full:
                # Wait rather than fail: back to the queue until the window reopens.
                if _mark(
                    conn,
                    row.id,
                    owner,
                    {
                        "state": "queued",
                        "next_attempt_at": full[endpoint],
                        "lease_until": None,
                        "endpoint": endpoint,
                    },
                ):
                    report.rate_limited += 1
                else:
                    report.lost_leases += 1
                continue
        try:
            receipt = channel.send(target, message)
        except DeliveryError as exc:
            attempts = row.attempts + 1
            code = exc.code or "error"
            report.errors[code] = report.errors.get(code, 0) + 1
            values: dict[str, Any] = {
                "attempts": attempts,
                "last_error": str(exc)[:ERROR_LIMIT],
                "lease_until": None,
                "endpoint": endpoint,
            }
            if not exc.retryable or attempts >= max_attempts:
                values["state"] = "dead"
            else:
                delay = (
                    min(max(exc.retry_after_s, 0.0), max_backoff_s)
                    if exc.retry_after_s is not None
                    else _backoff(attempts, base_backoff_s, max_backoff_s)
                )
                values["state"] = "failed"
                values["next_attempt_at"] = now_fn() + timedelta(seconds=delay)
            if _mark(conn, row.id, owner, values):
                setattr(report, values["state"], getattr(report, values["state"]) + 1)
            else:
                report.lost_leases += 1
            continue
        except Exception as exc:
            # A channel bug, not a delivery verdict: retry, and record only the class name
            # (an unknown exception's text may carry a URL with a key in it).
            attempts = row.attempts + 1
            report.errors["unexpected"] = report.errors.get("unexpected", 0) + 1
            state = "dead" if attempts >= max_attempts else "failed"
            if _mark(
                conn,
                row.id,
                owner,
                {
                    "state": state,
                    "attempts": attempts,
                    "last_error": f"未预期的错误：{type(exc).__name__}",
                    "next_attempt_at": now_fn()
                    + timedelta(seconds=_backoff(attempts, base_backoff_s, max_backoff_s)),
                    "lease_until": None,
                    "endpoint": endpoint,
                },
            ):
                setattr(report, state, getattr(report, state) + 1)
            else:
                report.lost_leases += 1
            continue
        if _mark(
            conn,
            row.id,
            owner,
            {
                "state": "sent",
                "sent_at": now_fn(),
                "parts": receipt.parts,
                "lease_until": None,
                "endpoint": endpoint,
            },
        ):
            report.sent += 1
        else:
            report.lost_leases += 1


# --- operator views and actions ---------------------------------------------------------------


@dataclass(frozen=True)
class OutboxEntry:
    delivery_id: int | None  # None: a notification that never got a delivery (no contact)
    notification_id: int
    dedupe_key: str
    kind: str
    recipient_code: str
    recipient_name: str
    channel: str | None
    address: str | None
    state: str
    attempts: int
    next_attempt_at: datetime | None
    last_error: str | None
    sent_at: datetime | None


def _check_state(state: str | None) -> None:
    if state is not None and state not in DELIVERY_STATES:
        raise InputError(
            [Problem("参数", "--state", f"未知状态 {state}（可选：{'、'.join(DELIVERY_STATES)}）")]
        )


def list_outbox(
    engine: Engine, campaign_id: int, state: str | None = None, limit: int = 100
) -> list[OutboxEntry]:
    """Deliveries (and notifications that have none), oldest first, optionally one state."""
    _check_state(state)
    with engine.connect() as conn:
        q = (
            select(
                DC.id,
                NC.id,
                NC.dedupe_key,
                NC.kind,
                UnitRow.code,
                UnitRow.name,
                DC.channel,
                DC.address,
                DC.state,
                DC.attempts,
                DC.next_attempt_at,
                DC.last_error,
                DC.sent_at,
            )
            .select_from(D.join(N, NC.id == DC.notification_id))
            .join(UnitRow, UnitRow.id == NC.recipient_unit_id)
            .where(DC.campaign_id == campaign_id)
            .order_by(DC.id)
            .limit(limit)
        )
        if state is not None:
            q = q.where(DC.state == state)
        rows = [OutboxEntry(*r) for r in conn.execute(q)]
        orphans = (
            select(
                literal(None),
                NC.id,
                NC.dedupe_key,
                NC.kind,
                UnitRow.code,
                UnitRow.name,
                literal(None),
                literal(None),
                NC.state,
                NC.attempts,
                NC.next_attempt_at,
                NC.last_error,
                NC.sent_at,
            )
            .join(UnitRow, UnitRow.id == NC.recipient_unit_id)
            .where(NC.campaign_id == campaign_id, ~exists().where(DC.notification_id == NC.id))
            .order_by(NC.id)
            .limit(limit)
        )
        if state is not None:
            orphans = orphans.where(NC.state == state)
        rows += [OutboxEntry(*r) for r in conn.execute(orphans)]
    rows.sort(key=lambda e: (e.notification_id, e.delivery_id or 0))
    return rows[:limit]


def outbox_counts(engine: Engine, campaign_id: int) -> dict[str, int]:
    """Deliveries per state, every state present."""
    with Session(engine) as session:
        return delivery_counts(session, campaign_id)


@dataclass
class RetryResult:
    deliveries: int = 0
    notifications: int = 0  # notifications without deliveries sent back to expansion
    not_found: list[int] = field(default_factory=list)  # ids not dead/failed (or unknown)


def retry(
    engine: Engine,
    ids: Sequence[int] = (),
    *,
    dead: bool = False,
    campaign_id: int | None = None,
    now: datetime | None = None,
) -> RetryResult:
    """Re-queue deliveries by id (dead or failed ones; failed ones become due now), or with
    ``dead=True`` every dead delivery — and every notification that died for want of a
    contact, so the next dispatch looks at the unit's contacts again. Attempts restart at
    0; the last error is kept for the record. ``campaign_id`` narrows ``dead=True``."""
    now = now or utcnow()
    result = RetryResult()
    requeue = {
        "state": "queued",
        "attempts": 0,
        "next_attempt_at": now,
        "lease_owner": None,
        "lease_until": None,
    }
    with engine.begin() as conn:
        conds: list[Any] = []
        if ids:
            conds.append(and_(DC.id.in_(list(ids)), DC.state.in_(("dead", "failed"))))
        if dead:
            conds.append(DC.state == "dead")
        touched: list[tuple[int, int]] = []
        if conds:
            where = or_(*conds)
            if campaign_id is not None:
                where = and_(where, DC.campaign_id == campaign_id)
            touched = [
                (int(i), int(n))
                for i, n in conn.execute(
                    update(D).where(where).values(**requeue).returning(DC.id, DC.notification_id)
                )
            ]
        result.deliveries = len(touched)
        result.not_found = sorted(set(ids) - {i for i, _ in touched})
        if dead:
            where = and_(NC.state == "dead", ~exists().where(DC.notification_id == NC.id))
            if campaign_id is not None:
                where = and_(where, NC.campaign_id == campaign_id)
            res = conn.execute(
                update(N).where(where).values(**requeue),
                execution_options={"preserve_rowcount": True},
            )
            result.notifications = rowcount(res)
        nids = sorted({n for _, n in touched})
        for i in range(0, len(nids), 1000):
            _rollup(conn, DC.notification_id.in_(nids[i : i + 1000]))
    return result


__all__ = [
    "DEFAULT_RATES",
    "Claimed",
    "DispatchReport",
    "ExpandResult",
    "OutboxEntry",
    "QuietPolicy",
    "RetryResult",
    "claim",
    "dispatch",
    "expand",
    "list_outbox",
    "outbox_counts",
    "reconcile",
    "retry",
]

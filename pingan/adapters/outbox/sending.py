"""Sending one claimed batch: each delivery is sent and marked in its own short transaction,
the mark committed (on PostgreSQL: on the wire with its commit) before the next send, so a
killed worker repeats at most the one message it had in flight (pingan.adapters.outbox.marks).
On PostgreSQL the marks' answers are read a group at a time, and a mark that failed (the
database connection lost) raises at the end of the batch or the connection's next use: that
message, left unmarked, is sent again when its lease runs out.
Delivery is at-least-once; the dedupe key travels with every message so receivers that can
deduplicate do."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from pingan.adapters.channels.base import Channel, DeliveryError, Message, Target
from pingan.adapters.channels.limits import RateLimit
from pingan.adapters.outbox.context import DispatchRun
from pingan.adapters.outbox.freeze import SHORT_LINK_PENDING, FrozenBatch, frozen_messages
from pingan.adapters.outbox.leases import Claimed, renew
from pingan.adapters.outbox.marks import Marker, finish_mark
from pingan.adapters.outbox.personal import ALL_MARKUPS, for_delivery, is_personal
from pingan.adapters.outbox.quota import take_slot
from pingan.adapters.outbox.report import DispatchReport
from pingan.adapters.outbox.tables import ERROR_LIMIT
from pingan.core.delivery import (
    NoLongerDue,
    Outcome,
    RateLimited,
    SendFailed,
    Sent,
    Unsendable,
    verdict,
)

CANCELLED = "事项已完成或已豁免，无需再发"
TOO_MANY_INTERRUPTS = "多次发送均未完成（进程中断或租约超时），已停止重试"
NO_MESSAGE = "无法生成消息内容（通知或收件单位记录缺失）"
# Back-off jitter only; nothing secret or security-relevant is drawn from it.
_JITTER = random.Random()
# The report's counter for each state a delivery can be left in.
_COUNTERS = {
    "sent": "sent",
    "failed": "failed",
    "dead": "dead",
    "cancelled": "cancelled",
    "queued": "rate_limited",
}


@dataclass
class _Batch:
    """What a batch tracks while it sends: its leases, the endpoints out of slots and the
    marker its marks go through."""

    rows: list[Claimed]
    lease_until: datetime
    mine: set[int]  # ids this worker still holds
    marker: Marker
    full: dict[str, datetime] = field(default_factory=dict)  # endpoint → its window reopens
    # What each state's mark tells the report once read (see ``_counter``), made once.
    counters: dict[str, Callable[[bool], None]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class _Ready:
    """A delivery ready to go: its channel, target and message, the endpoint it counts
    against and that endpoint's rate windows (with the posts the message takes)."""

    channel: Channel
    target: Target
    message: Message
    endpoint: str
    windows: tuple[RateLimit, ...]
    parts: int


def send_batch(run: DispatchRun, rows: list[Claimed], today: date) -> None:
    """Send and mark every row of a claimed batch (``today``: the campaign's local date).

    Every message is made ready for the whole batch first, in one pass: between two sends
    only the lease and rate checks, the send and its mark remain. Preparing has no effect
    outside this process, so it changes nothing a killed worker leaves behind."""
    sms = {r.notification_id for r in rows if r.channel == "sms"}
    frozen = frozen_messages(run, sorted({r.notification_id for r in rows}), today, sms)
    lease_until = min(r.lease_until for r in rows)
    batch = _Batch(rows, lease_until, {r.id for r in rows}, Marker(run.conn, run.owner))
    plans = [_prepare(run, frozen, row) for row in rows]
    try:
        for row, plan in zip(rows, plans, strict=True):
            _deliver(run, batch, row, plan)
    finally:
        finish_mark(run.conn)  # the batch's mark results, before the run uses the connection


def _prepare(run: DispatchRun, frozen: FrozenBatch, row: Claimed) -> _Ready | Outcome:
    """What sending ``row`` takes, or the outcome that settles it without a send."""
    ready = _ready(run, frozen, row)
    if not isinstance(ready, tuple):
        return ready
    channel, message = ready
    target = Target(row.channel, row.address)  # type: ignore[arg-type]  # our own rows
    endpoint = _endpoint(run, channel, row, target)
    if isinstance(endpoint, Unsendable):
        return endpoint
    windows = _windows(run, channel, row.channel)
    parts = _parts(channel, target, message) if windows else 1
    return _Ready(channel, target, message, endpoint, windows, parts)


def _deliver(run: DispatchRun, batch: _Batch, row: Claimed, plan: _Ready | Outcome) -> None:
    if row.id not in batch.mine:
        run.report.lost_leases += 1
        return
    if not isinstance(plan, _Ready):
        _settle(run, batch, row, plan)
        return
    now = run.now_fn()
    if not _keep_lease(run, batch, row, now):
        run.report.lost_leases += 1
        return
    if plan.windows:
        wait = _rate_gate(run, batch, plan.windows, plan.endpoint, now, plan.parts)
        if wait is not None:
            _settle(run, batch, row, wait, plan.endpoint)
            return
    _settle(run, batch, row, _send(run, plan.channel, plan.target, plan.message), plan.endpoint)


def _ready(
    run: DispatchRun, frozen: FrozenBatch, row: Claimed
) -> tuple[Channel, Message] | Outcome:
    """The channel and message to send, or why there is nothing to send."""
    nid = row.notification_id
    if nid in frozen.cancelled:
        return NoLongerDue(CANCELLED)
    channel = run.channels.get(row.channel)
    if channel is None:
        return Unsendable(f"渠道 {row.channel} 未启用，无法发送")
    if run.policy.exhausted(row.attempts):
        return Unsendable(TOO_MANY_INTERRUPTS)
    if nid in frozen.errors:
        return Unsendable(frozen.errors[nid])
    message = frozen.messages.get(nid)
    if message is None:  # rendering produced nothing (say, its recipient unit is gone)
        return Unsendable(NO_MESSAGE)
    personal = is_personal(row.channel, row.contact_id)
    links = frozen.short_links if row.channel == "sms" else frozen.links
    link = links.get(nid)
    if link == SHORT_LINK_PENDING:
        return SendFailed("短链接暂未能保存，稍后重试", retryable=True)
    markups = getattr(channel, "markups", ALL_MARKUPS)
    return channel, for_delivery(message, link, personal=personal, markups=markups)


def _endpoint(run: DispatchRun, channel: Channel, row: Claimed, target: Target) -> str | Unsendable:
    key = (row.channel, row.address)
    endpoint = row.endpoint or run.endpoints.get(key)
    if endpoint is None:
        try:
            endpoint = channel.endpoint(target)
        except Exception as exc:
            # Only the class name: a message could quote what the reference resolved to.
            return Unsendable(f"地址 {row.address} 无法解析（{type(exc).__name__}）")
        run.endpoints[key] = endpoint
    return endpoint


def _keep_lease(run: DispatchRun, batch: _Batch, row: Claimed, now: datetime) -> bool:
    """Renew the batch's leases once half of one has passed; whether ``row`` is still ours."""
    lease_s = run.policy.lease_s
    if now >= batch.lease_until - timedelta(seconds=lease_s / 2):
        batch.lease_until = now + timedelta(seconds=lease_s)
        held = [r.id for r in batch.rows if r.id in batch.mine]
        finish_mark(run.conn)
        batch.mine = renew(run.conn, held, run.owner, batch.lease_until)
    return row.id in batch.mine


def _parts(channel: Channel, target: Target, message: Message) -> int:
    """Posts the message will take (robots split long texts); each uses a rate slot."""
    counter = getattr(channel, "parts", None)
    return int(counter(target, message)) if callable(counter) else 1


def _windows(run: DispatchRun, channel: Channel, name: str) -> tuple[RateLimit, ...]:
    """The channel's own per-endpoint limits (SMS, app messages), else the policy's
    per-minute rate for its name (robots), shortest window first."""
    own = getattr(channel, "limits", None)
    if callable(own):
        found: tuple[RateLimit, ...] = tuple(own())
        if found:
            return tuple(sorted(found, key=lambda w: w.window_s))
    limit = run.policy.rate_per_minute.get(name)
    return () if limit is None else (RateLimit(limit),)


def _rate_gate(
    run: DispatchRun,
    batch: _Batch,
    windows: tuple[RateLimit, ...],
    endpoint: str,
    now: datetime,
    parts: int,
) -> RateLimited | None:
    """Slots for every part in each of the endpoint's windows, or when to try again (wait
    rather than fail). A window known to be full is honoured before any slot is taken, so
    the shorter windows' slots are not spent on a send a longer one refuses."""
    keys = [w.slot_key(endpoint) for w in windows]
    for key in keys:
        until = batch.full.get(key)
        if until is not None and now < until:
            return RateLimited(until)
    # Only called with windows (none, no query: the pipelined mark stays in flight during
    # the send); a pipelined mark is read before the connection is reused.
    finish_mark(run.conn)
    for w, key in zip(windows, keys, strict=True):
        span = timedelta(seconds=w.window_s)
        granted, reopens = take_slot(run.conn, key, w.limit, now, parts, span)
        if not granted:
            batch.full[key] = reopens
            return RateLimited(reopens)
        batch.full.pop(key, None)
    return None


def _send(run: DispatchRun, channel: Channel, target: Target, message: Message) -> Outcome:
    try:
        receipt = channel.send(target, message)
    except DeliveryError as exc:
        run.report.count_error(exc.code or "error")
        return SendFailed(str(exc), exc.retryable, exc.retry_after_s)
    except Exception as exc:
        # A channel bug, not a delivery verdict: retry, and record only the class name
        # (an unknown exception's text may carry a URL with a key in it).
        run.report.count_error("unexpected")
        return SendFailed(f"未预期的错误：{type(exc).__name__}", retryable=True)
    return Sent(receipt.parts)


def _settle(
    run: DispatchRun,
    batch: _Batch,
    row: Claimed,
    outcome: Outcome,
    endpoint: str | None = None,
) -> None:
    """Write the verdict on ``row`` and count it — or count the lease as lost when another
    worker took the row over meanwhile."""
    v = verdict(outcome, row.attempts, run.policy, run.now_fn(), _JITTER.random())
    # The columns in the order of their names, as the mark's statement lists them.
    keys: list[str] = []
    values: list[Any] = []
    if v.attempts != row.attempts:
        keys.append("attempts")
        values.append(v.attempts)
    if endpoint is not None:
        keys.append("endpoint")
        values.append(endpoint)
    if v.error is not None:
        keys.append("last_error")
        values.append(v.error[:ERROR_LIMIT])
    keys.append("lease_until")
    values.append(None)
    if v.next_attempt_at is not None:
        keys.append("next_attempt_at")
        values.append(v.next_attempt_at)
    if v.sent_at is not None:
        keys += ("parts", "sent_at")
        values += (v.parts, v.sent_at)
    keys.append("state")
    values.append(v.state)
    settled = batch.counters.get(v.state)
    if settled is None:
        settled = batch.counters[v.state] = _counter(run.report, v.state)
    batch.marker.mark(row.id, tuple(keys), values, settled)


def _counter(report: DispatchReport, state: str) -> Callable[[bool], None]:
    """What a mark tells the report once read: one more in ``state``'s counter when it wrote
    its row, one more lost lease when another worker had taken the row over."""
    name = _COUNTERS[state]

    def settled(written: bool) -> None:
        if written:
            setattr(report, name, getattr(report, name) + 1)
        else:
            report.lost_leases += 1

    return settled

"""A dispatcher run: expand, then claim → send → mark batch by batch while anything is due
(and quiet hours allow), rolling notifications up as it goes and reconciling at the end."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine, and_, func, or_, select
from sqlalchemy.orm import Session

from pingan.adapters.channels.base import Channel, ChannelName
from pingan.adapters.db.base import utcnow
from pingan.adapters.outbox.context import DispatchRun
from pingan.adapters.outbox.expansion import expand
from pingan.adapters.outbox.fallback import fall_back
from pingan.adapters.outbox.leases import claim_on, default_owner
from pingan.adapters.outbox.marks import fast_commits
from pingan.adapters.outbox.report import DispatchReport
from pingan.adapters.outbox.rollup import (
    ROLLUP_EVERY,
    ROLLUP_EVERY_S,
    again_on_deadlock,
    reconcile,
)
from pingan.adapters.outbox.rollup_lane import RollupLane
from pingan.adapters.outbox.sending import send_batch
from pingan.adapters.outbox.tables import DC
from pingan.core.campaign import Campaign
from pingan.core.delivery import DispatchPolicy
from pingan.core.links import PortalSettings
from pingan.core.progress import Progress, nothing


def dispatch(
    engine: Engine,
    campaign: Campaign,
    campaign_id: int,
    channels: Mapping[str, Channel],
    policy: DispatchPolicy | None = None,
    *,
    channel_override: ChannelName | None = None,
    templates_dir: Path | None = None,
    portal: PortalSettings | None = None,
    now_fn: Callable[[], datetime] = utcnow,
    sleep_fn: Callable[[float], None] = time.sleep,
    progress: Progress = nothing,
) -> DispatchReport:
    """Send everything due now, batch by batch, then return what happened.

    ``channels`` maps a channel name to its implementation; deliveries for a channel not in
    the mapping become dead (re-queue them with ``retry`` once it is configured). A message
    over its endpoint's rate limit waits for the next window instead of failing. Leases are
    renewed when half of one has passed, but a single send that outlives its lease may be
    repeated by another worker. ``channel_override`` (the demo's file channel) sends every
    notification once on that channel, whatever the contacts. Texts rendered here carry
    personal portal links signed with ``portal`` (none without it).
    """
    policy = policy or DispatchPolicy()
    preference = campaign.delivery.preference
    report = _expand_all(
        engine, campaign_id, now_fn(), list(channels), channel_override, preference
    )
    with engine.connect() as conn:
        # Autocommit: every statement below is atomic on its own (a claim, a mark, a
        # rate slot, a roll-up), and a commit per message is one round trip, not three.
        conn.execution_options(isolation_level="AUTOCOMMIT")
        fast_commits(conn, True)
        run = DispatchRun(
            conn=conn,
            engine=engine,
            campaign=campaign,
            campaign_id=campaign_id,
            channels=channels,
            policy=policy,
            owner=policy.owner or default_owner(),
            now_fn=now_fn,
            templates_dir=templates_dir,
            portal=portal,
            report=report,
        )
        try:
            with RollupLane(engine, conn) as lane:
                _batches(run, lane, sleep_fn, progress)
            # Includes whatever the batches left un-rolled-up.
            again_on_deadlock(reconcile, conn, campaign_id)
        finally:
            if not conn.closed and not conn.invalidated:
                fast_commits(conn, False)
    return report


def _expand_all(
    engine: Engine,
    campaign_id: int,
    now: datetime,
    channels: list[str],
    channel_override: ChannelName | None,
    preference: Sequence[str],
) -> DispatchReport:
    """Expand every queued notification in its own transaction; the run's report so far."""
    enabled = [channel_override] if channel_override else channels
    with Session(engine) as session:
        ex = expand(
            session,
            campaign_id,
            now,
            channels=enabled,
            channel_override=channel_override,
            preference=preference,
        )
        session.commit()
    return DispatchReport(expanded=ex.deliveries, no_contact=ex.dead)


def _batches(
    run: DispatchRun, lane: RollupLane, sleep_fn: Callable[[float], None], progress: Progress
) -> None:
    conn, cid, policy, report = run.conn, run.campaign_id, run.policy, run.report
    zone = ZoneInfo(run.campaign.timezone)
    total = _due_count(conn, cid, run.now_fn())
    progress(0, total)
    waited = 0.0
    # Notifications touched but not yet rolled up; done in chunks (and by ``reconcile`` at
    # the end) because a roll-up per batch cost as much as a tenth of the sends.
    unrolled: set[int] = set()
    rolled_at = time.monotonic()
    while policy.max_batches is None or report.batches < policy.max_batches:
        now = run.now_fn()
        if _quiet(run, now):
            break
        rows = claim_on(conn, cid, run.owner, now, policy.batch, policy.lease_s)
        if not rows and _fall_back(run, lane, now):
            continue
        if not rows:
            nap = _nap(run, now, waited)
            if nap is None:
                break
            sleep_fn(nap)
            waited += nap
            continue
        report.batches += 1
        unrolled.update(r.notification_id for r in rows)
        send_batch(run, rows, now.replace(tzinfo=UTC).astimezone(zone).date())
        progress(min(report.handled, total), max(total, report.handled))
        if len(unrolled) >= ROLLUP_EVERY or time.monotonic() - rolled_at >= ROLLUP_EVERY_S:
            lane.submit(sorted(unrolled))
            unrolled.clear()
            rolled_at = time.monotonic()


def _fall_back(run: DispatchRun, lane: RollupLane, now: datetime) -> bool:
    """Persons whose deliveries all died get one on their next channel; whether any did."""
    if not run.channels:
        return False
    with Session(run.engine) as session:
        nids = fall_back(
            session,
            run.campaign_id,
            now,
            channels=list(run.channels),
            preference=run.campaign.delivery.preference,
        )
        session.commit()
    if nids:
        run.report.fallbacks += len(nids)
        lane.now(nids)
    return bool(nids)


def _quiet(run: DispatchRun, now: datetime) -> bool:
    """In quiet hours: note until when, and how much waits, in the report."""
    if run.policy.quiet is None:
        return False
    until = run.policy.quiet.next_allowed(now)
    if until is None:
        return False
    run.report.quiet_until = until
    run.report.deferred = _due_count(run.conn, run.campaign_id, now)
    return True


def _nap(run: DispatchRun, now: datetime, waited: float) -> float | None:
    """How long to sleep for the next row to fall due; None when the run should end."""
    report = run.report
    report.next_due_at = _next_due(run.conn, run.campaign_id)
    wait_up_to_s = run.policy.wait_up_to_s
    if report.next_due_at is None or waited >= wait_up_to_s:
        return None
    # A floor on each nap keeps a frozen test clock from spinning here.
    nap = max((report.next_due_at - now).total_seconds(), 0.05)
    return None if waited + nap > wait_up_to_s else nap


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

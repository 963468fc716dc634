"""A per-campaign lease lock in the database: one tick at a time, on SQLite and PostgreSQL,
from any number of machines. A crashed holder's lease simply expires."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from sqlalchemy import Connection, Engine, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from pingan.adapters.db.audit import CampaignLockRow
from pingan.adapters.db.base import utcnow


class LockHeld(Exception):
    def __init__(self, name: str) -> None:
        super().__init__(f"创建活动的“{name}”任务正由其他进程执行，请稍后再试")


def try_acquire(engine: Engine, campaign_id: int, name: str, holder: str, ttl_s: float) -> bool:
    now = utcnow()
    with engine.begin() as conn:
        conn.execute(
            delete(CampaignLockRow).where(
                CampaignLockRow.campaign_id == campaign_id,
                CampaignLockRow.name == name,
                CampaignLockRow.expires_at < now,
            )
        )
    try:
        with engine.begin() as conn:
            conn.execute(
                insert(CampaignLockRow).values(
                    campaign_id=campaign_id,
                    name=name,
                    holder=holder,
                    expires_at=now + timedelta(seconds=ttl_s),
                )
            )
    except IntegrityError:
        return False
    return True


def release(engine: Engine, campaign_id: int, name: str, holder: str) -> None:
    with engine.begin() as conn:
        conn.execute(
            delete(CampaignLockRow).where(
                CampaignLockRow.campaign_id == campaign_id,
                CampaignLockRow.name == name,
                CampaignLockRow.holder == holder,
            )
        )


def renew(engine: Engine, campaign_id: int, name: str, holder: str, ttl_s: float) -> bool:
    """Extend ``holder``'s lease; False when it no longer holds one that is still valid (it
    expired, or another holder has taken it): an expired lease is lost, not revived."""
    now = utcnow()
    with engine.begin() as conn:
        res = conn.execute(
            update(CampaignLockRow)
            .where(
                CampaignLockRow.campaign_id == campaign_id,
                CampaignLockRow.name == name,
                CampaignLockRow.holder == holder,
                CampaignLockRow.expires_at > now,
            )
            .values(expires_at=now + timedelta(seconds=ttl_s))
        )
        return bool(res.rowcount)


class LeaseLost(Exception):
    def __init__(self, name: str) -> None:
        super().__init__(
            f"创建活动的“{name}”任务租约已失效（续租失败或已被其他进程接管），"
            "已在安全点停止，本步结果未写入；请稍后重新执行"
        )


class Lease:
    """A held campaign lease. ``check`` at each safe point (before a commit): it raises
    LeaseLost once a renewal found the lease gone, once the last confirmed renewal is too
    old to trust (the database was away), or when the lock row is no longer ours."""

    def __init__(self, engine: Engine, key: tuple[int, str, str], ttl_s: float) -> None:
        self.engine = engine
        self.campaign_id, self.name, self.holder = key
        self.ttl_s = ttl_s
        self._confirmed = time.monotonic()
        self.lost = False

    def confirm(self, at: float) -> None:
        self._confirmed = at

    def trusted(self, now: float) -> bool:
        """Whether the lease surely still holds: the last confirmed renewal (counted from
        before it was sent) leaves more than a sixth of the TTL as a margin."""
        return not self.lost and now < self._confirmed + self.ttl_s * 5 / 6

    def check(self, conn: Connection | None = None, *, extend: bool = False) -> None:
        """Raise LeaseLost unless the lease is still ours; with ``conn``, read the lock row
        in that transaction (locked on PostgreSQL), so the commit that follows is fenced.

        With ``extend`` the lease is renewed inside ``conn``'s transaction instead: the
        UPDATE holds the row (PostgreSQL's row lock; on SQLite the database's only write
        lock), so a row still ours cannot have been taken since, nor be taken before the
        commit. That holds even when the renewer could not write meanwhile because this
        very transaction held SQLite's write lock, so the time-based trust is not asked."""
        if extend and conn is None:
            raise ValueError("a lease is extended inside the caller's transaction")
        if self.lost or (not extend and not self.trusted(time.monotonic())):
            self.lost = True
            raise LeaseLost(self.name)
        if extend and conn is not None:
            sent = time.monotonic()
            extended = conn.execute(
                update(CampaignLockRow)
                .where(
                    CampaignLockRow.campaign_id == self.campaign_id,
                    CampaignLockRow.name == self.name,
                    CampaignLockRow.holder == self.holder,
                )
                .values(expires_at=utcnow() + timedelta(seconds=self.ttl_s))
            )
            if extended.rowcount != 1:
                self.lost = True
                raise LeaseLost(self.name)
            self.confirm(sent)
            return
        query = (
            select(CampaignLockRow.holder, CampaignLockRow.expires_at)
            .where(
                CampaignLockRow.campaign_id == self.campaign_id, CampaignLockRow.name == self.name
            )
            .with_for_update()
        )
        if conn is None:
            with self.engine.connect() as own:
                row = own.execute(query).first()
        else:
            row = conn.execute(query).first()
        if row is None or row.holder != self.holder or row.expires_at <= utcnow():
            self.lost = True
            raise LeaseLost(self.name)


def _keep_alive(lease: Lease, stop: threading.Event) -> None:
    """Renew every ttl/3 until stopped or the lease is found lost; a failed renewal (a
    database blip) is retried, and ``Lease.trusted`` stops trusting it after 5/6 of the TTL."""
    while not stop.wait(lease.ttl_s / 3):
        sent = time.monotonic()
        try:
            held = renew(lease.engine, lease.campaign_id, lease.name, lease.holder, lease.ttl_s)
        except Exception:
            continue
        if not held:
            lease.lost = True
            return
        lease.confirm(sent)


@contextmanager
def campaign_lock(
    engine: Engine,
    campaign_id: int,
    name: str,
    holder: str,
    *,
    ttl_s: float = 120,
    wait_s: float = 0,
) -> Iterator[Lease]:
    """A short lease renewed every ttl/3 while the block runs: a holder killed mid-tick
    (SIGKILL, a lost machine) blocks the next tick for at most ``ttl_s``, not an hour. The
    block calls ``lease.check()`` at its safe points and stops there if the lease was lost."""
    deadline = time.monotonic() + wait_s
    while True:
        started = time.monotonic()
        if try_acquire(engine, campaign_id, name, holder, ttl_s):
            break
        if time.monotonic() >= deadline:
            raise LockHeld(name)
        time.sleep(0.2)
    lease = Lease(engine, (campaign_id, name, holder), ttl_s)
    lease.confirm(started)
    stop = threading.Event()
    renewer = threading.Thread(
        target=_keep_alive, args=(lease, stop), name=f"lease-{name}", daemon=True
    )
    renewer.start()
    try:
        yield lease
    finally:
        stop.set()
        renewer.join()
        release(engine, campaign_id, name, holder)

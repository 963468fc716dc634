"""A per-campaign lease lock in the database: one tick at a time, on SQLite and PostgreSQL,
from any number of machines. A crashed holder's lease simply expires."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from sqlalchemy import Engine, delete, insert, update
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
    with engine.begin() as conn:
        res = conn.execute(
            update(CampaignLockRow)
            .where(
                CampaignLockRow.campaign_id == campaign_id,
                CampaignLockRow.name == name,
                CampaignLockRow.holder == holder,
            )
            .values(expires_at=utcnow() + timedelta(seconds=ttl_s))
        )
        return bool(res.rowcount)


@contextmanager
def campaign_lock(
    engine: Engine,
    campaign_id: int,
    name: str,
    holder: str,
    *,
    ttl_s: float = 120,
    wait_s: float = 0,
) -> Iterator[None]:
    """A short lease renewed every ttl/3 while the block runs: a holder killed mid-tick
    (SIGKILL, a lost machine) blocks the next tick for at most ``ttl_s``, not an hour."""
    deadline = time.monotonic() + wait_s
    while not try_acquire(engine, campaign_id, name, holder, ttl_s):
        if time.monotonic() >= deadline:
            raise LockHeld(name)
        time.sleep(0.2)
    stop = threading.Event()

    def keep_alive() -> None:
        while not stop.wait(ttl_s / 3):
            try:
                renew(engine, campaign_id, name, holder, ttl_s)
            except Exception:  # a database blip: the next renewal may succeed
                continue

    renewer = threading.Thread(target=keep_alive, name=f"lease-{name}", daemon=True)
    renewer.start()
    try:
        yield
    finally:
        stop.set()
        renewer.join()
        release(engine, campaign_id, name, holder)

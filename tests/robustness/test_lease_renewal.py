"""The campaign lease is checked, not just renewed: a holder whose lease expired while the
database was away, or was taken by another holder, stops at its next safe point and writes
nothing."""

from __future__ import annotations

import sqlite3
import time
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from pingan.adapters.db.locks import LeaseLost, campaign_lock, try_acquire
from pingan.adapters.db.session import make_engine
from pingan.services.tick import evaluate_and_plan
from tests.factories import load_seed


def test_a_lease_that_outlives_its_renewals_is_lost(tmp_path: Path) -> None:
    db = tmp_path / "p.db"
    engine = make_engine(f"sqlite:///{db}")
    cid = load_seed(engine, tmp_path, cells=3).handle.campaign_id
    blocker = sqlite3.connect(db, timeout=0)
    with campaign_lock(engine, cid, "tick", "first", ttl_s=0.6) as lease:
        # The database refuses every write (as if unreachable) for longer than the lease.
        blocker.execute("BEGIN EXCLUSIVE")
        time.sleep(0.8)
        with pytest.raises(LeaseLost, match="租约已失效"):
            lease.check()
        blocker.rollback()
    blocker.close()
    engine.dispose()


def test_a_lease_taken_by_another_holder_is_lost_at_the_next_renewal(
    engine: Engine, tmp_path: Path
) -> None:
    cid = load_seed(engine, tmp_path, cells=3).handle.campaign_id
    with campaign_lock(engine, cid, "tick", "first", ttl_s=0.6) as lease:
        lease.check()
        # Its renewals went nowhere: the lease expired and a second tick took it.
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM campaign_lock WHERE holder = 'first'"))
        assert try_acquire(engine, cid, "tick", "second", ttl_s=60)
        time.sleep(0.5)  # one renewal (every ttl/3) finds the lease gone
        assert lease.lost
        with pytest.raises(LeaseLost):
            lease.check()
    # Leaving the block does not release the other holder's lease.
    assert not try_acquire(engine, cid, "tick", "third", ttl_s=60)


def test_a_tick_whose_lease_is_taken_mid_run_commits_nothing(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'p.db'}")
    loaded = load_seed(engine, tmp_path, cells=5)
    before = loaded.rows("SELECT COUNT(*) FROM notification WHERE campaign_id = :c")[0][0]
    statuses = loaded.rows("SELECT id, status FROM obligation ORDER BY id")
    with engine.begin() as conn:
        # While the tick evaluates, its lease expires and another worker takes it.
        conn.execute(
            text(
                "CREATE TRIGGER takeover AFTER UPDATE ON obligation BEGIN "
                "UPDATE campaign_lock SET holder = 'other-host:99', "
                "expires_at = datetime('now', '+120 seconds'); END"
            )
        )
    with pytest.raises(LeaseLost):
        evaluate_and_plan(engine, loaded.handle, date(2017, 6, 20))

    after = loaded.rows("SELECT COUNT(*) FROM notification WHERE campaign_id = :c")[0][0]
    assert after == before
    assert loaded.rows("SELECT id, status FROM obligation ORDER BY id") == statuses
    engine.dispose()


def test_a_healthy_lease_passes_its_checks_past_its_ttl(engine: Engine, tmp_path: Path) -> None:
    cid = load_seed(engine, tmp_path, cells=3).handle.campaign_id
    with campaign_lock(engine, cid, "tick", "alive", ttl_s=0.6) as lease:
        for _ in range(6):  # 1.5 s: two and a half TTLs, renewed all along
            time.sleep(0.25)
            lease.check()
        assert not lease.lost


def test_a_sqlite_tick_that_holds_the_database_past_its_ttl_still_commits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import functools

    import pingan.services.tick as tick_service
    from pingan.adapters.db import locks

    engine = make_engine(f"sqlite:///{tmp_path / 'p.db'}")
    loaded = load_seed(engine, tmp_path, cells=5)
    monkeypatch.setattr(
        tick_service, "campaign_lock", functools.partial(locks.campaign_lock, ttl_s=0.6)
    )
    planner = tick_service.plan_notifications

    def slow_plan(*args: object, **kwargs: object) -> object:
        planned = planner(*args, **kwargs)  # type: ignore[arg-type]
        # The tick's transaction now holds SQLite's write lock: the renewer cannot write
        # for longer than the lease lives.
        time.sleep(1.0)
        return planned

    monkeypatch.setattr(tick_service, "plan_notifications", slow_plan)
    result = evaluate_and_plan(engine, loaded.handle, date(2017, 11, 1))

    assert result.plan.total > 0
    stored = loaded.rows("SELECT COUNT(*) FROM notification WHERE campaign_id = :c")[0][0]
    assert stored == result.plan.total
    assert loaded.rows("SELECT COUNT(*) FROM campaign_lock")[0][0] == 0
    engine.dispose()

"""The campaign lease: renewed while held, so a short TTL never frees a live holder's lock,
and a dead holder's lock frees itself within the TTL."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from sqlalchemy import Engine

from pingan.adapters.db.locks import LockHeld, campaign_lock, try_acquire
from tests.factories import load_seed


def test_a_held_lock_is_renewed_past_its_ttl(engine: Engine, tmp_path: Path) -> None:
    cid = load_seed(engine, tmp_path, cells=5).handle.campaign_id
    with campaign_lock(engine, cid, "tick", "alive", ttl_s=0.6):
        time.sleep(1.5)  # more than two TTLs
        with pytest.raises(LockHeld), campaign_lock(engine, cid, "tick", "other", ttl_s=0.6):
            pass


def test_a_dead_holders_lock_is_free_after_its_ttl(engine: Engine, tmp_path: Path) -> None:
    cid = load_seed(engine, tmp_path, cells=5).handle.campaign_id
    # A holder that took the lease and died: nobody renews or releases it.
    assert try_acquire(engine, cid, "tick", "dead", ttl_s=0.5)
    assert not try_acquire(engine, cid, "tick", "next", ttl_s=0.5)
    time.sleep(0.8)
    with campaign_lock(engine, cid, "tick", "next", ttl_s=5):
        pass

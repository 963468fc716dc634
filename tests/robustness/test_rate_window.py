"""A robot's rate limit is a sliding window shared through the database: two workers sending
to one 20-a-minute robot never get more than 20 sends into any 60 seconds — not even around
the edge of a minute, where a fixed window let 40 through — and retries are jittered."""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from datetime import datetime, timedelta

import pytest
from sqlalchemy import Engine

from pingan.adapters.db.session import make_engine, upgrade
from pingan.adapters.outbox.quota import take_slot
from pingan.core.delivery import DispatchPolicy, SendFailed, verdict
from tests.robustness._harness import Databases

T0 = datetime(2017, 5, 22, 2, 0)
LIMIT = 20
ENDPOINT = "wecom:0123456789abcdef"


def _two_workers(url: str, schedule: list[float]) -> list[float]:
    """Both workers ask for a slot at every time of ``schedule`` (seconds after T0), at
    once, each on its own engine; the times of the granted sends."""
    engines = [make_engine(url), make_engine(url)]
    granted: list[float] = []
    lock = threading.Lock()
    barrier = threading.Barrier(2)

    def worker(engine: Engine) -> None:
        with engine.connect() as conn:
            conn = conn.execution_options(isolation_level="AUTOCOMMIT")
            for t in schedule:
                barrier.wait()
                ok, _ = take_slot(conn, ENDPOINT, LIMIT, T0 + timedelta(seconds=t))
                if ok:
                    with lock:
                        granted.append(t)

    threads = [threading.Thread(target=worker, args=(e,)) for e in engines]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    for e in engines:
        e.dispose()
    return sorted(granted)


def _busiest_minute(granted: list[float]) -> int:
    """The most grants inside any 60-second span [t, t + 60)."""
    return max((sum(1 for g in granted if t <= g < t + 60) for t in granted), default=0)


def _fresh(databases: Databases, name: str) -> str:
    url = databases.new(name)
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    return url


def test_no_minute_holds_more_than_the_limit_across_the_window_edge(
    databases: Databases,
) -> None:
    # One send opens the minute; both workers then press on either side of its end.
    schedule = [0.0] + [58 + i * 0.1 for i in range(50)]
    granted = _two_workers(_fresh(databases, "edge"), schedule)

    assert _busiest_minute(granted) == LIMIT
    assert len(granted) == LIMIT + 2  # then only the two first sends leave the window


def test_random_traffic_from_two_workers_never_exceeds_the_limit(databases: Databases) -> None:
    rng = random.Random(17)
    schedule = sorted(rng.uniform(0, 240) for _ in range(300))
    granted = _two_workers(_fresh(databases, "random"), schedule)

    assert _busiest_minute(granted) <= LIMIT
    # The window slides rather than starves: four minutes of demand get about four minutes
    # of sends.
    assert len(granted) >= 3 * LIMIT


def test_a_refused_send_learns_when_the_oldest_send_leaves_the_window(
    databases: Databases,
) -> None:
    engine = make_engine(_fresh(databases, "reopen"))
    with engine.connect() as conn:
        conn = conn.execution_options(isolation_level="AUTOCOMMIT")
        for i in range(LIMIT):
            assert take_slot(conn, ENDPOINT, LIMIT, T0 + timedelta(seconds=i))[0]
        ok, reopens = take_slot(conn, ENDPOINT, LIMIT, T0 + timedelta(seconds=30))
        assert (ok, reopens) == (False, T0 + timedelta(seconds=60))
        assert take_slot(conn, ENDPOINT, LIMIT, reopens)[0]
        assert not take_slot(conn, ENDPOINT, LIMIT, reopens)[0]  # the next leaves at 61 s
    engine.dispose()


@pytest.mark.parametrize("retry_after_s", [None, 60.0])
def test_failures_at_one_moment_retry_at_spread_out_times(retry_after_s: float | None) -> None:
    policy = DispatchPolicy(base_backoff_s=60)
    failed = SendFailed("http:500", retryable=True, retry_after_s=retry_after_s)
    rng = random.Random(5)
    draw: Callable[[], float] = rng.random
    retries = [verdict(failed, 1, policy, T0, draw()).next_attempt_at for _ in range(50)]
    gaps = [(r - T0).total_seconds() for r in retries if r is not None]

    assert len(set(gaps)) == 50
    if retry_after_s is None:  # the doubled back-off (120 s), less up to half of it
        assert all(60 <= g <= 120 for g in gaps)
        assert max(gaps) - min(gaps) > 30
    else:  # the receiver's own wait is never shortened
        assert all(60 <= g <= 66 for g in gaps)


def test_a_message_in_parts_takes_a_slot_per_part(databases: Databases) -> None:
    engine = make_engine(_fresh(databases, "parts"))
    with engine.connect() as conn:
        conn = conn.execution_options(isolation_level="AUTOCOMMIT")
        for i in range(6):  # six three-part messages: 18 posts
            assert take_slot(conn, ENDPOINT, LIMIT, T0 + timedelta(seconds=i), 3)[0]
        # Two posts are left in this minute: a three-part message waits for the first
        # message's three posts to leave the window (the third leaves at 60 s).
        ok, reopens = take_slot(conn, ENDPOINT, LIMIT, T0 + timedelta(seconds=10), 3)
        assert (ok, reopens) == (False, T0 + timedelta(seconds=60))
        assert take_slot(conn, ENDPOINT, LIMIT, T0 + timedelta(seconds=10), 2)[0]
    engine.dispose()

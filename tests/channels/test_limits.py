"""Per-recipient limits of the personal channels, kept in the shared endpoint_slot windows
(SQLite, and PostgreSQL when configured): an SMS mobile gets at most 1 a minute, 5 an hour
and 10 a day; a refusal by a longer window spends no slot of a shorter one after the first."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import pairwise
from typing import Any

from sqlalchemy import Engine, func, select

from pingan.adapters.channels.limits import RateLimit, describe, per_window
from pingan.adapters.db.deliveries import EndpointSlotRow
from pingan.adapters.db.session import upgrade
from pingan.adapters.outbox.marks import Marker
from pingan.adapters.outbox.sending import _Batch, _rate_gate
from pingan.core.delivery import RateLimited

T0 = datetime(2017, 5, 22, 1, 0)
SMS = per_window(minute=1, hour=5, day=10)
ENDPOINT = "sms:0123456789abcdef"


@dataclass
class Run:
    conn: Any
    report: Any = None
    policy: Any = None
    extra: dict[str, Any] = field(default_factory=dict)


def granted_times(engine: Engine, minutes: list[int]) -> list[int]:
    upgrade(engine)
    out: list[int] = []
    with engine.connect() as conn:
        conn = conn.execution_options(isolation_level="AUTOCOMMIT")
        run = Run(conn)
        batch = _Batch([], T0, set(), Marker(conn, "worker-a"))
        for m in minutes:
            wait = _rate_gate(run, batch, SMS, ENDPOINT, T0 + timedelta(minutes=m), 1)  # type: ignore[arg-type]
            if wait is None:
                out.append(m)
            else:
                assert isinstance(wait, RateLimited)
    return out


def test_one_a_minute_five_an_hour_ten_a_day(engine: Engine) -> None:
    every_thirty_seconds = [m // 2 for m in range(0, 2 * 60 * 24)]  # minutes, twice each

    granted = granted_times(engine, sorted(set(every_thirty_seconds)))

    assert granted[:5] == [0, 1, 2, 3, 4]  # a minute apart
    assert 5 not in granted and granted[5] == 60  # the hour is full until 01:00 + 60 min
    assert len(granted) == 10  # and the day holds ten
    assert all(b - a >= 1 for a, b in pairwise(granted))


def test_a_full_hour_spends_no_more_minute_slots(engine: Engine) -> None:
    granted_times(engine, list(range(0, 30)))

    with engine.connect() as conn:
        minute_used = conn.execute(
            select(EndpointSlotRow.used_at).where(EndpointSlotRow.endpoint == ENDPOINT)
        ).scalar_one()
        hour_slots = conn.execute(
            select(func.count()).where(EndpointSlotRow.endpoint == ENDPOINT + "/3600s")
        ).scalar_one()
    # Minute 5 spent the minute slot before the hour refused (the one waste); the refusal
    # is then remembered, so minutes 6-29 took nothing.
    assert (minute_used, hour_slots) == (T0 + timedelta(minutes=5), 5)


def test_limits_read_in_chinese() -> None:
    assert describe(SMS) == "每分钟 1 条，每小时 5 条，每天 10 条"
    assert describe(()) == "不限"
    assert RateLimit(20).slot_key("wecom:ab") == "wecom:ab"

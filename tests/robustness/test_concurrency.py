"""Four ticks and two standalone dispatchers started together on one campaign end exactly
where one tick followed by one dispatcher ends: the same obligation statuses, submissions,
evidence, notifications (by dedupe key) and deliveries, and each message reaches the robot
exactly once. Each is its own process with its own engine, as on separate workers.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from sqlalchemy import text

from pingan.adapters.db.session import make_engine
from tests.robustness._harness import Databases, Place, Robot, differences, prepare, snapshot

TICKS = 4
DISPATCHERS = 2
# Far above any send here, so that a lease never runs out under a busy machine: at most once
# is then what the outbox promises, and what is checked.
LEASE = ["--lease", "60", "--wait", "0"]
START_AFTER_S = 4


def planned(place: Place) -> bool:
    engine = make_engine(place.url)
    try:
        with engine.connect() as conn:
            return bool(conn.execute(text("SELECT count(*) FROM notification")).scalar_one())
    finally:
        engine.dispose()


@pytest.mark.slow
def test_four_ticks_and_two_dispatchers_at_once_end_as_one_tick_and_one_dispatcher(
    databases: Databases, tmp_path: Path, robot: Robot
) -> None:
    one = prepare(databases, tmp_path, "one")
    assert one.run(robot, "--step", "tick", name="tick") == 0, one.logs()
    assert one.run(robot, "--step", "dispatch", *LEASE, name="dispatch") == 0
    want = snapshot(one)
    delivered = {d[0] for d in want["deliveries"] if d[3] == "sent"}
    assert want["submissions"] and delivered and dict(robot.seen) == dict.fromkeys(delivered, 1)

    robot.reset()
    many = prepare(databases, tmp_path, "many")
    # All four take the inbox at the same moment, once each has finished importing.
    start_at = ["--start-at", str(time.time() + START_AFTER_S)]
    ticks = [
        many.start(robot, "--step", "all", *LEASE, *start_at, name=f"tick-{i}")
        for i in range(TICKS)
    ]
    # The dispatchers join once there is something to send, while the ticks still run.
    deadline = time.monotonic() + 60
    while not planned(many) and all(t.poll() is None for t in ticks):
        assert time.monotonic() < deadline, many.logs()
        time.sleep(0.05)
    dispatchers = [
        many.start(robot, "--step", "dispatch", "--until-done", *LEASE, name=f"d-{i}")
        for i in range(DISPATCHERS)
    ]
    codes = [p.wait(timeout=180) for p in ticks + dispatchers]

    assert codes == [0] * (TICKS + DISPATCHERS), many.logs()
    assert differences(snapshot(many), want) == [], many.logs()
    assert dict(robot.seen) == dict.fromkeys(delivered, 1)

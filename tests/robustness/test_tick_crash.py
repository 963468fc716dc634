"""A whole tick SIGKILLed at ten points, then run again, ends exactly where an uninterrupted
tick of the same inputs ends: the same obligation statuses, submissions, evidence files,
notifications and deliveries, every message at the robot, and nothing half done — no lock
or lease left held, no half-copied or unrecognised file in the evidence store, no visible
quarantine entry without its reason, and every inbox file either still waiting or moved to
.processed and recorded.

The ten points are drawn (seeded; PINGAN_CRASH_SEED replays another draw) from the calls an
uninterrupted tick really makes: two each in intake, evaluation, planning and dispatch on
the composition path the flow's tasks wrap (tests/robustness/_tick_child.py), and two in
artifact publishing, which only the pingan-tick flow does, against a real Prefect server.
"""

from __future__ import annotations

import json
import os
import random
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.robustness._harness import (
    AS_OF,
    Databases,
    Place,
    Robot,
    differences,
    prefect_server,
    prepare,
    snapshot,
)
from tests.robustness._tick_child import CAMPAIGN, HOOKS

SEED = int(os.environ.get("PINGAN_CRASH_SEED") or 2017)
# "hook:n,hook:n" replays chosen points instead of drawing them (see _tick_child.HOOKS).
POINTS = os.environ.get("PINGAN_CRASH_POINTS")
PHASES = ("intake", "evaluation", "planning", "dispatch")
KILLED = -signal.SIGKILL


@pytest.fixture(scope="module")
def prefect_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    with prefect_server(tmp_path_factory.mktemp("prefect")) as env:
        yield env


def kill_points(counts: dict[str, int], rng: random.Random) -> list[tuple[str, int]]:
    """Two points per phase, at calls an uninterrupted tick makes; then the two artifact
    publications of the flow."""
    points = []
    for phase in PHASES:
        reached = sorted(n for n, (p, _, _) in HOOKS.items() if p == phase and counts.get(n))
        assert reached, f"an uninterrupted tick never reached the {phase} hooks: {counts}"
        for name in rng.sample(reached, k=2) if len(reached) > 1 else reached * 2:
            points.append((name, rng.randint(1, counts[name])))
    points += [("table-artifact", 1), ("summary-artifact", 1)]
    return points


def read(place: Place, name: str) -> dict[str, Any]:
    return dict(json.loads((place.folder / f"{name}.json").read_text(encoding="utf-8")))


@pytest.mark.slow
def test_a_tick_killed_at_ten_points_and_run_again_ends_as_an_uninterrupted_one(
    databases: Databases, tmp_path: Path, robot: Robot, prefect_api: dict[str, str]
) -> None:
    base = prepare(databases, tmp_path, "uninterrupted")
    rc = base.run(robot, "--out", str(base.folder / "result.json"))
    assert rc == 0, base.logs()
    want = snapshot(base)
    result = read(base, "result")
    delivered = {d[0] for d in want["deliveries"] if d[3] == "sent"}
    # The starting point is worth recovering to: every step had work.
    assert want["submissions"] and want["quarantine"] and delivered, want
    assert set(robot.seen) == delivered and max(robot.seen.values()) == 1

    rng = random.Random(SEED)
    points = kill_points(result["counts"], rng)
    if POINTS:
        points = [(h, int(n)) for h, _, n in (p.partition(":") for p in POINTS.split(","))]
    print(f"seed {SEED}: calls {result['counts']}; kill points {points}")
    failures: list[str] = []
    for i, (hook, n) in enumerate(points):
        phase = HOOKS[hook][0]
        flow = phase == "artifacts"
        place = prepare(databases, tmp_path, f"kill-{i}-{hook}")
        if flow:
            place.prefect = prefect_api
        robot.reset()
        mode = ["--flow"] if flow else []
        killed = place.run(robot, *mode, "--kill", f"{hook}:{n}", name="killed")
        again = place.run(robot, *mode, "--out", str(place.folder / "again.json"), name="again")
        label = f"seed {SEED}, kill at {hook}:{n} ({phase})"
        if killed != KILLED or again != 0:
            failures.append(f"{label}: exit codes {killed}, {again}\n{place.logs()}")
            continue
        problems = differences(snapshot(place), want)
        # At least once: a message sent but not yet marked is sent again, and only that.
        duplicates = sum(c - 1 for c in robot.seen.values())
        if set(robot.seen) != delivered or duplicates > (1 if phase == "dispatch" else 0):
            problems.append(f"robot saw {dict(robot.seen)}; want each of {len(delivered)} once")
        if flow:
            problems += artifact_problems(read(place, "again"), result)
        failures += [f"{label}: {p}" for p in problems]
    assert not failures, "\n".join(failures)


def artifact_problems(again: dict[str, Any], uninterrupted: dict[str, Any]) -> list[str]:
    """The re-run published the day's status table and summary, as the UI shows them."""
    problems = []
    if again["state"] != "COMPLETED":
        problems.append(f"re-run flow ended {again['state']}")
    artifacts = again["artifacts"]
    table, summary = f"{CAMPAIGN}-status-colours", f"{CAMPAIGN}-tick-summary"
    for key in (table, summary):
        if artifacts.get(key, {}).get("flow_run_id") != again["flow_run_id"]:
            problems.append(f"latest {key} is not the re-run's: {artifacts.get(key)}")
    if table in artifacts:
        data = artifacts[table]["data"]
        rows = json.loads(data) if isinstance(data, str) else data
        if rows != uninterrupted["colour_table"]:
            problems.append(f"status table {rows} != {uninterrupted['colour_table']}")
    if summary in artifacts and AS_OF.isoformat() not in str(artifacts[summary]["data"]):
        problems.append("summary does not name the day")
    return problems


@pytest.mark.slow
@pytest.mark.parametrize("hook", ["quarantine-copy", "quarantine-note"])
def test_intake_killed_while_quarantining_leaves_no_entry_without_its_reason(
    tmp_path: Path, robot: Robot, hook: str
) -> None:
    """Found by the test above (PINGAN_CRASH_POINTS=quarantine-note:2): the quarantine's
    cleanup ran on exceptions only, so a SIGKILL left a file without its reason note."""
    databases = Databases(f"sqlite:///{tmp_path / 'unused.db'}", tmp_path)
    base = prepare(databases, tmp_path, "uninterrupted")
    assert base.run(robot) == 0, base.logs()
    want = snapshot(base)
    place = prepare(databases, tmp_path, "killed")
    assert place.run(robot, "--kill", f"{hook}:1", name="killed") == KILLED, place.logs()
    assert place.run(robot, name="again") == 0, place.logs()
    assert differences(snapshot(place), want) == []

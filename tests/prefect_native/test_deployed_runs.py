"""Deployments on a real Prefect server, run by a process worker (issue 16).

The server holds the second campaign's deployments (binjiang-2025, registered by `pingan
deploy`); the pingan database holds it and the seed. Runs are started through the Prefect
API as an operator would from the UI: flat parameters, the campaign left to the deployment.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from pingan.adapters.db.session import make_engine
from pingan.core.campaign import load_campaign
from pingan.services.load import load
from pingan.services.synth import write_roster
from tests.factories import SEED_CONFIG, synth_roster
from tests.prefect_native._cluster import ROOT, Cluster, running_cluster, start_worker, wait_for

pytestmark = pytest.mark.slow

SECOND = ROOT / "config" / "campaigns" / "binjiang-2025.yaml"
CODE = "binjiang-2025"
POOL = "pingan-native-test"
OBLIGATION_DAYS = """
    SELECT c.code, o.status_as_of FROM obligation o
    JOIN gate g ON g.id = o.gate_id JOIN campaign c ON c.id = g.campaign_id
"""


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    work = tmp_path_factory.mktemp("prefect-native")
    url = f"sqlite:///{work / 'pingan.db'}"
    engine = make_engine(url)
    load(engine, SEED_CONFIG, synth_roster(work, 12), actor="test")
    roster = work / "binjiang.csv"
    write_roster(load_campaign(SECOND), 12, 7, roster)
    load(engine, SECOND, roster, actor="test")
    try:
        with running_cluster(work, engine, url, POOL) as c:
            deployed = c.deploy(SECOND, "--pool", POOL, "--crash-after", "0")
            assert deployed.returncode == 0, deployed.stdout + deployed.stderr
            start_worker(c, POOL)
            yield c
    finally:
        engine.dispose()


def days_by_campaign(cluster: Cluster) -> dict[str, set[Any]]:
    out: dict[str, set[Any]] = {}
    for code, day in cluster.rows(OBLIGATION_DAYS):
        out.setdefault(code, set()).add(str(day) if day is not None else None)
    return out


def task_runs(cluster: Cluster, run_id: Any) -> list[Any]:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    with cluster.settings(), get_client(sync_client=True) as client:
        return client.read_task_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[run_id]))
        )


def events_named(cluster: Cluster, name: str) -> list[dict[str, Any]]:
    body = {"filter": {"event": {"name": [name]}, "order": "ASC"}, "limit": 50}
    response = httpx.post(f"{cluster.api}/events/filter", json=body, timeout=10)
    response.raise_for_status()
    return list(response.json()["events"])


def outbox_lines(cluster: Cluster) -> list[dict[str, Any]]:
    if not cluster.outbox.exists():
        return []
    lines = cluster.outbox.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def test_a_deployed_tick_run_with_flat_parameters_ticks_the_deployments_campaign(
    cluster: Cluster,
) -> None:
    # Only as_of is given: the server merges it with the deployment's campaign.
    run_id = cluster.run(f"pingan-tick/{CODE}", {"as_of": "2025-06-10", "dispatch": False})

    run = cluster.wait_final(run_id)

    assert run.state.is_completed(), f"{run.state}\n{cluster.procs.logs()}"
    assert run.parameters["campaign"] == CODE
    assert run.name == f"巡检 {CODE} 2025-06-10"
    days = days_by_campaign(cluster)
    assert days[CODE] == {"2025-06-10"}
    assert days["xucheng-2017"] == {None}  # the seed was not ticked
    names = {t.name for t in task_runs(cluster, run_id)}
    assert f"计算状态并安排通知 {CODE} 2025-06-10" in names
    assert f"打开创建活动 {CODE}" in names


def wait_for_event(cluster: Cluster, name: str, as_of: str) -> dict[str, Any]:
    found: list[dict[str, Any]] = []

    def emitted() -> bool:
        events = events_named(cluster, name)
        found[:] = [e for e in events if e["payload"].get("as_of") == as_of]
        return bool(found)

    wait_for(name, emitted, 60, cluster.procs)
    return found[0]


def test_a_tick_emits_completed_and_overdue_events_about_its_campaign(cluster: Cluster) -> None:
    run = cluster.wait_final(cluster.run(f"pingan-tick/{CODE}", {"as_of": "2025-07-15"}))
    assert run.state.is_completed(), f"{run.state}\n{cluster.procs.logs()}"

    completed = wait_for_event(cluster, "pingan.tick.completed", "2025-07-15")
    overdue = wait_for_event(cluster, "pingan.obligation.overdue", "2025-07-15")

    assert completed["resource"]["prefect.resource.id"] == f"pingan.campaign.{CODE}"
    assert completed["payload"]["escalations"] > 0
    assert overdue["resource"]["prefect.resource.id"] == f"pingan.campaign.{CODE}"
    levels = overdue["payload"]["levels"]
    assert levels and sum(levels.values()) == overdue["payload"]["total"] > 0
    # Related to the run that emitted it, so automations can filter by deployment or tag.
    related = {r["prefect.resource.id"] for r in overdue["related"]}
    assert f"prefect.flow-run.{run.id}" in related
    assert f"prefect.tag.{CODE}" in related


def test_a_failed_run_reaches_the_coordinator_through_the_shipped_automation(
    cluster: Cluster,
) -> None:
    # 2031 is a year neither chinese_calendar nor config/calendars knows: an input error.
    run_id = cluster.run(f"pingan-tick/{CODE}", {"as_of": "2031-06-10"})

    run = cluster.wait_final(run_id)

    assert run.state.is_failed(), f"{run.state}\n{cluster.procs.logs()}"
    # Not retried: an input error fails the same way every time.
    assert all(t.run_count <= 1 for t in task_runs(cluster, run_id))
    alerts: list[dict[str, Any]] = []

    def alerted() -> bool:
        alerts[:] = [
            m for m in outbox_lines(cluster) if "流程运行失败" in json.dumps(m, ensure_ascii=False)
        ]
        return bool(alerts)

    wait_for("the alert in the file channel", alerted, 180, cluster.procs)
    text = json.dumps(alerts[0], ensure_ascii=False)
    assert run.name in text
    assert "2031" in text  # the reason names the year the calendar lacks
    assert "区综治中心" in text  # addressed to the campaign's own office, in its words


def test_switching_between_deploy_and_serve_rebuilds_the_deployments_and_says_so(
    cluster: Cluster,
) -> None:
    """Last in this module: it leaves the deployments as `pingan deploy` made them."""
    import asyncio

    from prefect.client.orchestration import get_client

    from deployments.build import deployment_specs
    from deployments.register import Options, prepare_serve

    specs = deployment_specs(load_campaign(SECOND))

    async def serve_then_read() -> tuple[list[str], Any]:
        deployments, notes = await prepare_serve(specs, Options(crash_after_s=0))
        for d in deployments:  # what `prefect serve` does first
            await d.aapply()
        async with get_client() as client:
            return notes, await client.read_deployment_by_name(f"pingan-tick/{CODE}")

    with cluster.settings():
        notes, served = asyncio.run(serve_then_read())
    assert served.work_pool_name is None and not served.pull_steps
    assert any(f"pingan-tick/{CODE}" in n and "pingan serve 进程" in n for n in notes), notes

    back = cluster.deploy(SECOND, "--pool", POOL, "--crash-after", "0")
    assert back.returncode == 0, back.stdout + back.stderr
    assert f"工作池 {POOL} 的 worker" in back.stdout + back.stderr
    run = cluster.wait_final(cluster.run(f"pingan-tick/{CODE}", {"as_of": "2025-07-16"}))
    assert run.state.is_completed(), f"{run.state}\n{cluster.procs.logs()}"

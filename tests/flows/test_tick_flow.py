"""The tick flow under a real (test) Prefect server."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
from prefect.client.schemas.sorting import FlowRunSort
from sqlalchemy import func, select

from flows.collect import collect
from flows.tick import WaiverInput, tick
from pingan.adapters.db.notifications import NotificationRow
from pingan.adapters.db.obligations import ObligationRow
from pingan.adapters.db.session import make_engine
from pingan.core.campaign import load_campaign
from pingan.services.load import load
from pingan.services.synth import write_roster


def _load(db_url: str, config: Path, tmp_path: Path, cells: int) -> None:
    roster = tmp_path / f"roster-{cells}.csv"
    write_roster(load_campaign(config), cells, 7, roster)
    engine = make_engine(db_url)
    load(engine, config, roster)
    engine.dispose()


def _last_flow_run_task_count() -> int:
    with get_client(sync_client=True) as client:
        run = client.read_flow_runs(sort=FlowRunSort.START_TIME_DESC, limit=1)[0]
        return len(
            client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[run.id])))
        )


def _artifact_keys() -> set[str]:
    with get_client(sync_client=True) as client:
        return {a.key for a in client.read_artifacts() if a.key}


def test_tick_flow_plans_the_days_messages_and_publishes_artifacts(
    pingan_env: str, seed_config: Path, tmp_path: Path
) -> None:
    _load(pingan_env, seed_config, tmp_path, 40)
    result = tick(campaign="xucheng-2017", as_of=date(2017, 5, 22))
    assert result.escalations > 0 and result.digests > 0
    assert {"xucheng-2017-status-colours", "xucheng-2017-tick-summary"} <= _artifact_keys()


def test_tick_flow_run_twice_for_one_day_plans_nothing_new(
    pingan_env: str, seed_config: Path, tmp_path: Path
) -> None:
    _load(pingan_env, seed_config, tmp_path, 40)
    tick(campaign="xucheng-2017", as_of=date(2017, 5, 12))
    again = tick(campaign="xucheng-2017", as_of=date(2017, 5, 12))
    assert (again.reminders, again.escalations, again.digests) == (0, 0, 0)


def test_task_runs_per_tick_do_not_grow_with_cells(
    pingan_env: str, seed_config: Path, tmp_path: Path
) -> None:
    _load(pingan_env, seed_config, tmp_path, 20)
    tick(campaign="xucheng-2017", as_of=date(2017, 5, 22))
    small = _last_flow_run_task_count()
    _load(pingan_env, seed_config, tmp_path, 400)  # same campaign, 20x the cells
    tick(campaign="xucheng-2017", as_of=date(2017, 5, 23))
    assert _last_flow_run_task_count() == small


def test_dry_run_flow_writes_nothing(pingan_env: str, seed_config: Path, tmp_path: Path) -> None:
    _load(pingan_env, seed_config, tmp_path, 20)
    result = tick(campaign="xucheng-2017", as_of=date(2017, 5, 22), dry_run=True)
    engine = make_engine(pingan_env)
    with engine.connect() as conn:
        planned = conn.scalar(select(func.count()).select_from(NotificationRow))
    engine.dispose()
    assert result.escalations > 0 and planned == 0


def test_waiver_given_as_flow_parameter_waives_the_obligation(
    pingan_env: str, seed_config: Path, tmp_path: Path
) -> None:
    _load(pingan_env, seed_config, tmp_path, 20)
    waiver = WaiverInput(gate="domain-plan", units=["jdjb"], reason="已线下报送纸质材料")
    result = tick(campaign="xucheng-2017", as_of=date(2017, 5, 22), waivers=[waiver])
    assert result.obligations["waived"] == 1


def test_collect_flow_takes_in_a_submitted_plan(
    pingan_env: str, seed_config: Path, tmp_path: Path
) -> None:
    _load(pingan_env, seed_config, tmp_path, 20)
    inbox = tmp_path / "inbox"
    (inbox / "domain_plan" / "jdjb").mkdir(parents=True)
    (inbox / "domain_plan" / "jdjb" / "方案.pdf").write_bytes(b"%PDF-1.4\n%%EOF\n")
    report = collect(campaign="xucheng-2017", inbox=str(inbox), as_of=date(2017, 5, 10))
    engine = make_engine(pingan_env)
    with engine.connect() as conn:
        done = conn.scalar(
            select(func.count())
            .select_from(ObligationRow)
            .where(ObligationRow.done_on.is_not(None))
        )
    engine.dispose()
    assert report.accepted == 1 and done == 1

"""`pingan tick` and `pingan collect` through Prefect: with PREFECT_API_URL set they run as
flow runs (the UI history is whole); without it they say that nothing was recorded."""

from __future__ import annotations

import json
from pathlib import Path
from uuid import UUID

import pytest
from click.testing import Result
from typer.testing import CliRunner

from pingan.adapters.db.session import make_engine
from pingan.cli.app import app
from pingan.services.load import load
from tests.factories import SEED_CODE, SEED_CONFIG, synth_roster


def run(*args: str) -> Result:
    return CliRunner().invoke(app, list(args), env={"COLUMNS": "250"})


@pytest.fixture
def loaded(pingan_env: str, tmp_path: Path) -> str:
    engine = make_engine(pingan_env)
    load(engine, SEED_CONFIG, synth_roster(tmp_path, 12), actor="test")
    engine.dispose()
    return pingan_env


@pytest.fixture
def through_prefect(monkeypatch: pytest.MonkeyPatch) -> str:
    from prefect.settings import PREFECT_API_URL

    url = str(PREFECT_API_URL.value())
    monkeypatch.setenv("PREFECT_API_URL", url)
    return url


def test_tick_with_a_prefect_server_is_a_named_flow_run_on_it(
    loaded: str, through_prefect: str
) -> None:
    from prefect.client.orchestration import get_client

    result = run("tick", SEED_CODE, "--as-of", "2017-05-22", "--no-dispatch", "--json")

    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["flow_run"]["name"] == f"巡检 {SEED_CODE} 2017-05-22"
    assert doc["escalations"] > 0 and doc["delivery"] is None
    with get_client(sync_client=True) as client:
        flow_run = client.read_flow_run(UUID(doc["flow_run"]["id"]))
    assert flow_run.state is not None and flow_run.state.is_completed()
    assert flow_run.parameters["campaign"] == SEED_CODE
    assert "Beginning flow run" not in result.output  # Prefect's console lines stay quiet


def test_a_tick_that_fails_on_input_says_why_in_chinese_without_a_traceback(
    loaded: str, through_prefect: str
) -> None:
    result = run("tick", SEED_CODE, "--as-of", "2031-06-10", "--no-dispatch")
    assert result.exit_code == 2, result.output
    assert "工作日历" in result.output
    assert "Traceback" not in result.output


def test_collect_with_a_prefect_server_reports_counts_and_its_run_as_json(
    loaded: str, through_prefect: str, tmp_path: Path
) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    result = run("collect", SEED_CODE, "--inbox", str(inbox), "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["accepted"] == 0 and doc["flow_run"]["name"].startswith(f"收取材料 {SEED_CODE}")


def test_tick_without_a_server_delivers_like_the_flow_and_says_it_was_not_recorded(
    loaded: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    result = run("tick", SEED_CODE, "--as-of", "2017-05-22", "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["flow_run"] is None
    assert doc["delivery"] is not None  # dispatched, as the flow does
    assert "未记入 Prefect 运行历史" not in result.stdout  # --json keeps stdout clean


def test_no_dispatch_leaves_the_messages_queued(
    loaded: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    result = run("tick", SEED_CODE, "--as-of", "2017-05-22", "--no-dispatch")
    assert result.exit_code == 0, result.output
    assert "投递：" not in result.stdout
    assert "未记入 Prefect 运行历史" in result.output

"""`pingan tick`, `collect`, `dispatch`, `report` and `award` through Prefect: with
PREFECT_API_URL set they run as flow runs (the UI history is whole); without it they say
that nothing was recorded."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from click.testing import Result
from typer.testing import CliRunner

from pingan.adapters.db.session import make_engine
from pingan.cli.app import app
from pingan.services.load import load
from tests.factories import SEED_CODE, SEED_CONFIG, synth_roster


def flow_run_of(doc: dict[str, Any]) -> Any:
    """The flow run a command's JSON names, as the Prefect server has it."""
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        return client.read_flow_run(UUID(doc["flow_run"]["id"]))


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


def test_dispatch_with_a_prefect_server_is_a_named_flow_run_that_sends(
    loaded: str, through_prefect: str
) -> None:
    ticked = run("tick", SEED_CODE, "--as-of", "2017-05-22", "--no-dispatch", "--json")
    assert ticked.exit_code == 0, ticked.output

    result = run("dispatch", SEED_CODE, "--ignore-quiet-hours", "--json")

    doc = json.loads(result.stdout)
    assert doc["flow_run"]["name"] == f"投递 {SEED_CODE}"
    assert doc["sent"] + doc["failed"] + doc["dead"] + doc["no_contact"] > 0
    assert result.exit_code == (1 if doc["nothing_sent"] else 0), result.output
    flow_run = flow_run_of(doc)
    assert flow_run.parameters["respect_quiet_hours"] is False


def test_dispatch_json_has_the_same_fields_with_or_without_a_server(
    loaded: str, through_prefect: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    recorded = run("dispatch", SEED_CODE, "--json")
    monkeypatch.delenv("PREFECT_API_URL")
    direct = run("dispatch", SEED_CODE, "--json")
    assert recorded.exit_code == direct.exit_code == 0, recorded.output + direct.output
    assert json.loads(direct.stdout)["flow_run"] is None
    assert json.loads(recorded.stdout).keys() == json.loads(direct.stdout).keys()


def test_dispatch_without_a_server_says_it_was_not_recorded(
    loaded: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    result = run("dispatch", SEED_CODE)
    assert result.exit_code == 0, result.output
    assert "未记入 Prefect 运行历史" in result.output


def test_report_with_a_prefect_server_is_a_named_flow_run_that_leaves_the_bulletin_queued(
    loaded: str, through_prefect: str, tmp_path: Path
) -> None:
    out = tmp_path / "reports"
    result = run("report", SEED_CODE, "--as-of", "2017-05-22", "--out", str(out), "--json")

    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["flow_run"]["name"] == f"进展报告 {SEED_CODE} 2017-05-22"
    assert Path(doc["html"]).parent == out and Path(doc["xlsx"]).is_file()
    assert doc["bulletin"]["planned"] > 0 and "delivery" not in doc
    assert flow_run_of(doc).parameters["dispatch"] is False  # as without Prefect
    outbox = json.loads(run("outbox", SEED_CODE, "--state", "queued", "--json").stdout)
    assert any(e["kind"] == "bulletin" for e in outbox["entries"])


def test_report_in_text_names_its_flow_run(loaded: str, through_prefect: str) -> None:
    result = run("report", SEED_CODE, "--as-of", "2017-05-22", "--no-bulletin")
    assert result.exit_code == 0, result.output
    assert f"已记入 Prefect 运行历史：流程运行“进展报告 {SEED_CODE} 2017-05-22”" in result.output
    assert "已生成 2017-05-22 的创建工作进展报告" in result.stdout


@pytest.fixture
def signed_off(loaded: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """One campus cell passed and the results signed off: ready to award."""
    from pingan import root
    from pingan.core.acceptance import SignOffRequest
    from pingan.services import acceptance
    from pingan.services.tick import open_campaign
    from tests.awarding_helpers import cells_by_domain, score_cells

    monkeypatch.setenv("PINGAN_AWARD_SECRET", "cli-flow-run-test-key")
    root.reset()
    engine = make_engine(loaded)
    handle = open_campaign(engine, SEED_CODE)
    campus = cells_by_domain(engine, handle)["campus"]
    score_cells(engine, handle, {campus[0]: "pass"})
    request = SignOffRequest("王主任", True, "同意", {})
    acceptance.sign_off(engine, handle, request, actor="test", source="test")
    engine.dispose()
    return loaded


def test_award_with_a_prefect_server_is_a_named_flow_run_with_the_usual_json(
    signed_off: str, through_prefect: str
) -> None:
    result = run("award", SEED_CODE, "--as-of", "2017-11-20", "--no-notify", "--json")

    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["flow_run"]["name"] == f"命名挂牌 {SEED_CODE} 2017-11-20"
    assert (doc["awarded"], doc["by_domain"], doc["notices"]) == (1, {"campus": 1}, 0)
    assert doc["issued_on"] is not None
    docs = doc["documents"]
    assert docs["certificates"] == 1 and Path(docs["public_list_pdf"]).is_file()
    assert flow_run_of(doc).parameters["actor"]  # the CLI's operator, in the audit log too
    listed = json.loads(run("awards", SEED_CODE, "--json").stdout)
    assert len(listed) == 1


def test_award_json_has_the_same_fields_with_or_without_a_server(
    signed_off: str, through_prefect: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    recorded = run("award", SEED_CODE, "--as-of", "2017-11-20", "--no-notify", "--json")
    monkeypatch.delenv("PREFECT_API_URL")
    direct = run("award", SEED_CODE, "--as-of", "2017-11-20", "--no-notify", "--json")
    assert recorded.exit_code == direct.exit_code == 0, recorded.output + direct.output
    first, again = json.loads(recorded.stdout), json.loads(direct.stdout)
    assert again["flow_run"] is None and again["awarded"] == 0  # nobody awarded twice
    assert first.keys() == again.keys()
    assert first["documents"].keys() == again["documents"].keys()


def test_a_revocation_runs_directly_and_says_it_was_not_recorded(
    signed_off: str, through_prefect: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PREFECT_API_URL")
    granted = json.loads(run("award", SEED_CODE, "--as-of", "2017-11-20", "--json").stdout)
    assert granted["awarded"] == 1
    [award] = json.loads(run("awards", SEED_CODE, "--json").stdout)
    monkeypatch.setenv("PREFECT_API_URL", through_prefect)

    result = run("award", SEED_CODE, "--revoke", award["number"], "--reason", "发生事故")

    assert result.exit_code == 0, result.output
    assert "已撤销" in result.stdout
    assert "撤销命名直接执行，未记入 Prefect 运行历史" in result.output

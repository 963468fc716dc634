"""Acceptance → sign-off in the UI (input given through the API, as the UI does) → award."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
from prefect.client.schemas.sorting import FlowRunSort
from prefect.flow_runs import resume_flow_run
from sqlalchemy import func, select

import flows.acceptance
from flows.acceptance import acceptance
from pingan.adapters.db.assessments import AwardRow, SignOffRow
from pingan.adapters.db.session import make_engine
from pingan.services.tick import open_campaign
from tests.awarding_helpers import cells_by_domain, score_cells
from tests.factories import load_seed

AS_OF = date(2017, 11, 18)


@pytest.fixture
def scored(pingan_env: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    monkeypatch.setattr(flows.acceptance, "POLL_S", 1)
    monkeypatch.setenv("PINGAN_AWARD_SECRET", "flow-test-key")
    engine = make_engine(pingan_env)
    loaded = load_seed(engine, tmp_path, cells=40)
    by = cells_by_domain(engine, loaded.handle)
    score_cells(engine, loaded.handle, {by["campus"][0]: "pass", by["campus"][1]: "veto"})
    score_cells(engine, loaded.handle, {c: "pass" for c in by["family"][:3]})
    engine.dispose()
    return {"url": pingan_env, "by": by}


def _run_in_thread(fn: Callable[[], Any]) -> tuple[threading.Thread, dict[str, Any]]:
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["result"] = fn()
        except BaseException as exc:  # reported by the test, not lost in the thread
            box["error"] = exc

    t = threading.Thread(target=target, daemon=True)
    t.start()
    return t, box


def _wait_paused(since: set[UUID], timeout: float = 60) -> UUID:
    deadline = time.monotonic() + timeout
    with get_client(sync_client=True) as client:
        while time.monotonic() < deadline:
            for run in client.read_flow_runs(sort=FlowRunSort.START_TIME_DESC, limit=5):
                if run.id not in since and run.state and run.state.is_paused():
                    return run.id
            time.sleep(0.3)
    raise AssertionError("the acceptance flow never paused")


def _run_ids() -> set[UUID]:
    with get_client(sync_client=True) as client:
        return {r.id for r in client.read_flow_runs(limit=200)}


def _counts(url: str) -> tuple[int, int]:
    engine = make_engine(url)
    with engine.connect() as conn:
        awards = conn.scalar(select(func.count()).select_from(AwardRow)) or 0
        signoffs = conn.scalar(select(func.count()).select_from(SignOffRow)) or 0
    engine.dispose()
    return int(awards), int(signoffs)


def test_acceptance_waits_for_sign_off_then_awards(scored: dict[str, Any]) -> None:
    before = _run_ids()
    thread, box = _run_in_thread(lambda: acceptance(campaign="xucheng-2017", as_of=AS_OF))
    run_id = _wait_paused(before)
    assert _counts(scored["url"]) == (0, 0)  # nothing awarded while waiting
    resume_flow_run(
        run_id,
        run_input={
            "approver": "王主任",
            "decision": "同意命名",
            "comment": "同意命名",
            "exclusions": [{"cell": scored["by"]["family"][2], "reason": "待核实"}],
        },
    )
    thread.join(120)
    assert "error" not in box, box.get("error")
    result = box["result"]
    assert result.signoff is not None and result.signoff.model_dump() == {
        "approved": True,
        "approver": "王主任",
    }
    assert (
        result.award is not None and result.award.awarded == 3
    )  # 1 campus + 2 family; the vetoed and excluded wait
    assert _counts(scored["url"]) == (3, 1)
    docs = result.award.documents
    assert docs is not None
    assert Path(docs["公示名单（PDF）"]).exists() and Path(docs["公示名单（XLSX）"]).exists()
    assert len(list(Path(docs["证书目录"]).rglob("*.pdf"))) == 3


def test_a_rejected_sign_off_awards_nothing(scored: dict[str, Any]) -> None:
    before = _run_ids()
    thread, box = _run_in_thread(lambda: acceptance(campaign="xucheng-2017", as_of=AS_OF))
    run_id = _wait_paused(before)
    resume_flow_run(
        run_id,
        run_input={"approver": "王主任", "decision": "退回复查", "comment": "校园领域复查"},
    )
    thread.join(120)
    assert "error" not in box, box.get("error")
    assert box["result"].award is None
    assert _counts(scored["url"]) == (0, 1)


def test_on_site_scores_entered_in_the_form_are_stored(scored: dict[str, Any]) -> None:
    cell = scored["by"]["hospital"][0]
    before = _run_ids()
    thread, box = _run_in_thread(
        lambda: acceptance(
            campaign="xucheng-2017", as_of=AS_OF, onsite_cells=[cell], wait_for_signoff=False
        )
    )
    run_id = _wait_paused(before)
    engine = make_engine(scored["url"])
    campaign = open_campaign(engine, "xucheng-2017").campaign
    engine.dispose()
    rubric = campaign.domain("hospital").rubric
    values: dict[str, Any] = {"assessor": "现场考核组"}
    values |= {f"c0_{j}": c.points for j, c in enumerate(rubric.criteria)}
    resume_flow_run(run_id, run_input=values)
    thread.join(120)
    assert "error" not in box, box.get("error")
    assert box["result"].onsite == {"assessed": 1, "passed": 1, "reassessed": 0}
    hospital = next(d for d in _domains(scored["url"]) if d.key == "hospital")
    assert (hospital.assessed, hospital.passed) == (1, 1)


def _domains(url: str) -> list[Any]:
    from pingan.services import acceptance

    engine = make_engine(url)
    handle = open_campaign(engine, "xucheng-2017")
    res = acceptance.results(engine, handle, AS_OF)
    engine.dispose()
    return res.domains


def test_the_on_site_form_names_each_criterion_and_its_range_without_english_bounds(
    scored: dict[str, Any],
) -> None:
    from prefect.input import RunInput

    from pingan.core.onsite import onsite_model

    engine = make_engine(scored["url"])
    handle = open_campaign(engine, "xucheng-2017")
    from pingan.adapters.db.assessing import active_cells

    cell = active_cells(engine, handle.campaign_id)[scored["by"]["campus"][0]]
    engine.dispose()
    model = onsite_model(handle.campaign, [cell], RunInput)
    first = handle.campaign.domain("campus").rubric.criteria[0]
    schema = model.model_json_schema()["properties"]["c0_0"]
    assert first.name in schema["title"] and f"0～{first.points:g} 分" in schema["title"]
    # The UI would refuse an out-of-range value in English naming "c0_0": the flow checks.
    assert "maximum" not in schema and "minimum" not in schema


def test_flow_run_is_visible_with_its_result_artifacts(scored: dict[str, Any]) -> None:
    acceptance(campaign="xucheng-2017", as_of=AS_OF, wait_for_signoff=False)
    with get_client(sync_client=True) as client:
        keys = {a.key for a in client.read_artifacts() if a.key}
        run = client.read_flow_runs(sort=FlowRunSort.START_TIME_DESC, limit=1)[0]
        tasks = client.read_task_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[run.id]))
        )
    assert {"xucheng-2017-acceptance-results", "xucheng-2017-acceptance-failed"} <= keys
    assert len(tasks) == 3  # open, results, publish — never a task per cell

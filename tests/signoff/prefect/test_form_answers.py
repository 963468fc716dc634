"""The Prefect UI form: results above it, a wrong answer asked again with the attempts left
(no failed task, no traceback), out-of-range scores explained in Chinese, and a wait that
runs out ends in a named state with a clear message."""

from __future__ import annotations

from typing import Any

from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
from prefect.flow_runs import resume_flow_run

from flows.acceptance import acceptance
from tests.signoff.conftest import AS_OF, Scored
from tests.signoff.prefect.conftest import pause_description, run_ids, run_in_thread, wait_paused


def _task_states(run_id: Any) -> set[str]:
    with get_client(sync_client=True) as client:
        tasks = client.read_task_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[run_id]))
        )
    return {t.state.type.value for t in tasks if t.state}


def test_the_form_shows_the_results_and_a_wrong_exclusion_is_asked_again(
    waiting: Scored,
) -> None:
    before = run_ids()
    thread, box = run_in_thread(lambda: acceptance(campaign="xucheng-2017", as_of=AS_OF))
    run_id = wait_paused(before, "signoff-1")
    first = pause_description(run_id, "signoff-1")
    assert "考核验收结果" in first and "平安校园" in first and "签批的含义" in first
    resume_flow_run(
        run_id,
        run_input={
            "approver": "王主任",
            "decision": "同意命名",
            "exclusions": [{"cell": "S9999", "reason": "待核实"}],
        },
    )
    wait_paused(set(), "signoff-2")
    again = pause_description(run_id, "signoff-2")
    assert "S9999 不是考核达标的在册创建单位" in again and "还可提交 2 次" in again
    assert "FAILED" not in _task_states(run_id)
    resume_flow_run(run_id, run_input={"approver": "王主任", "decision": "同意命名"})
    thread.join(120)
    assert "error" not in box, box.get("error")
    assert box["result"].award.awarded == 4


def test_an_out_of_range_score_is_explained_with_the_criterions_name(waiting: Scored) -> None:
    cell = waiting.by["hospital"][0]
    before = run_ids()
    thread, box = run_in_thread(
        lambda: acceptance(
            campaign="xucheng-2017", as_of=AS_OF, onsite_cells=[cell], wait_for_signoff=False
        )
    )
    run_id = wait_paused(before, "onsite-scores-1")
    rubric = waiting.seed.handle.campaign.domain("hospital").rubric
    values: dict[str, Any] = {"assessor": "现场考核组"}
    values |= {f"c0_{j}": c.points for j, c in enumerate(rubric.criteria)}
    values["c0_0"] = rubric.criteria[0].points + 5
    resume_flow_run(run_id, run_input=values)
    wait_paused(set(), "onsite-scores-2")
    text = pause_description(run_id, "onsite-scores-2")
    assert rubric.criteria[0].name in text and "超过该项满分" in text and "c0_0" not in text
    assert "还可提交 2 次" in text
    values["c0_0"] = rubric.criteria[0].points
    resume_flow_run(run_id, run_input=values)
    thread.join(120)
    assert "error" not in box, box.get("error")
    assert box["result"].onsite == {"assessed": 1, "passed": 1, "reassessed": 0}


def test_a_wait_that_runs_out_ends_as_a_named_state_and_closes_the_links(
    waiting: Scored,
) -> None:
    state = acceptance(
        campaign="xucheng-2017", as_of=AS_OF, timeout_hours=2 / 3600, return_state=True
    )
    # Prefect words the final state itself ("… never resumed"); the reason in Chinese is the
    # run's artifact and log.
    assert state.is_failed()
    with get_client(sync_client=True) as client:
        run_id = state.state_details.flow_run_id
        [ended] = [
            a
            for a in client.read_artifacts()
            if a.key == "xucheng-2017-acceptance-ended" and a.flow_run_id == run_id
        ]
    assert "等待超时" in str(ended.data) and "pingan acceptance signoff" in str(ended.data)
    reasons = {r.closed_reason for r in waiting.seed.rows("SELECT closed_reason FROM signoff_link")}
    assert reasons == {"timeout"}

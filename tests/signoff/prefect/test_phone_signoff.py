"""The whole loop without a browser: the run pauses, each approver has a link, the phone
page shows the results, a wrong answer is answered on the page, the sign-off resumes the
run on the Prefect server, awards follow, and the link is spent."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from prefect.flow_runs import resume_flow_run
from sqlalchemy.orm import Session

from flows.acceptance import acceptance
from pingan.adapters.db.awarding.signoff_links import link_token
from pingan.adapters.db.signoff_links import SignoffLinkRow
from pingan.core.links import fingerprint
from pingan.portal.app import create_app
from pingan.portal.config import PortalConfig
from tests.signoff.conftest import AS_OF, SECRET, Scored
from tests.signoff.prefect.conftest import run_ids, run_in_thread, wait_paused


@pytest.fixture
def phone(waiting: Scored, tmp_path: Path) -> Iterator[TestClient]:
    config = PortalConfig(
        secret=SECRET,
        evidence_dir=tmp_path / "evidence",
        quarantine_dir=tmp_path / "quarantine",
        spool_dir=tmp_path / "spool",
        max_file_bytes=1024 * 1024,
    )
    with TestClient(create_app(waiting.engine, config)) as client:
        yield client


def _links(s: Scored) -> dict[str, str]:
    """Each approver's page path, signed as sending signs it."""
    with Session(s.engine) as session:
        rows = session.query(SignoffLinkRow).order_by(SignoffLinkRow.id).all()
        return {r.approver: f"/s/{link_token('xucheng-2017', r, SECRET)}" for r in rows}


def _start(**kwargs: Any) -> tuple[Any, dict[str, Any], Any]:
    before = run_ids()
    thread, box = run_in_thread(lambda: acceptance(campaign="xucheng-2017", as_of=AS_OF, **kwargs))
    return thread, box, wait_paused(before, "signoff-1")


def test_a_sign_off_on_the_phone_resumes_the_run_and_awards_follow(
    waiting: Scored, phone: TestClient
) -> None:
    thread, box, _ = _start()
    links = _links(waiting)
    assert set(links) == {"王主任", "李副主任"}
    page = phone.get(links["王主任"])
    assert page.status_code == 200
    assert "平安校园" in page.text and "一票否决" in page.text and "签批的含义" in page.text

    done = phone.post(links["王主任"], data={"decision": "同意命名", "comment": "同意"})
    assert done.status_code == 200 and "签批已提交" in done.text
    thread.join(120)
    assert "error" not in box, box.get("error")
    result = box["result"]
    assert result.signoff.approver == "王主任" and result.signoff.approved
    assert result.award is not None and result.award.awarded == 4  # 1 campus + 3 family

    [audit] = waiting.seed.rows(
        "SELECT after FROM audit_event WHERE action = 'acceptance.signoff.phone'"
    )
    after = audit.after if isinstance(audit.after, dict) else __import__("json").loads(audit.after)
    assert after["token"] == fingerprint(links["王主任"][3:]) and after["outcome"] == "resumed"
    # Spent, and the other approver's link closed with the run's answer.
    assert phone.get(links["王主任"]).status_code == 410
    closed = phone.get(links["李副主任"])
    assert closed.status_code == 410 and "已有签批结果" in closed.text


def test_a_wrong_hold_back_is_answered_on_the_page_and_the_link_stays_usable(
    waiting: Scored, phone: TestClient
) -> None:
    thread, box, _ = _start()
    link = _links(waiting)["李副主任"]
    wrong = phone.post(link, data={"decision": "同意命名", "holds": "S9999:待核实"})
    assert wrong.status_code == 422
    assert "S9999 不是考核达标的在册创建单位" in wrong.text
    hold = waiting.by["family"][2]
    ok = phone.post(link, data={"decision": "同意命名", "holds": f"{hold}：待核实"})
    assert ok.status_code == 200
    thread.join(120)
    assert "error" not in box, box.get("error")
    assert box["result"].award.awarded == 3  # the held-back cell waits


def test_a_link_whose_run_was_answered_in_the_prefect_ui_no_longer_opens(
    waiting: Scored, phone: TestClient
) -> None:
    thread, box, run_id = _start()
    links = _links(waiting)
    resume_flow_run(
        run_id, run_input={"approver": "王主任", "decision": "退回复查", "comment": "复查校园"}
    )
    thread.join(120)
    assert "error" not in box, box.get("error")
    assert box["result"].award is None
    page = phone.get(links["王主任"])
    assert page.status_code == 410 and "已有签批结果" in page.text

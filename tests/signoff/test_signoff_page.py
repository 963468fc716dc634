"""The approver's page without a Prefect server: what it shows, what it refuses (audited with
the link's fingerprint), and a wrong answer answered on the page before any run is touched."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy.orm import Session

from pingan.adapters.db.awarding.signoff_links import PauseRef, link_token
from pingan.adapters.db.signoff_links import SignoffLinkRow
from pingan.core.links import fingerprint
from pingan.portal.app import create_app
from pingan.portal.config import PortalConfig
from pingan.services import acceptance
from pingan.services.signoff import close_signoff_links, issue_signoff_links
from tests.signoff.conftest import AS_OF, BASE_URL, SECRET, Scored

RUN = "5f0c7a36-2b59-4c4e-8f5e-1d2a3b4c5d6e"


class Portal:
    portal_base_url: str | None = BASE_URL
    portal_secret: SecretStr | None = SecretStr(SECRET)
    portal_link_days = 30


@pytest.fixture
def page(scored: Scored, tmp_path: Path) -> Iterator[TestClient]:
    config = PortalConfig(
        secret=SECRET,
        evidence_dir=tmp_path / "evidence",
        quarantine_dir=tmp_path / "quarantine",
        spool_dir=tmp_path / "spool",
        max_file_bytes=1024 * 1024,
    )
    with TestClient(create_app(scored.engine, config)) as client:
        yield client


def _links(s: Scored, hours: float = 72) -> dict[str, str]:
    now = datetime.now(UTC)
    res = acceptance.results(s.engine, s.seed.handle, AS_OF)
    pause = PauseRef(RUN, AS_OF, now + timedelta(hours=hours))
    issue_signoff_links(s.engine, s.seed.handle, pause, res, Portal(), now.date())
    with Session(s.engine) as session:
        rows = session.query(SignoffLinkRow).order_by(SignoffLinkRow.id).all()
        return {r.approver: f"/s/{link_token('xucheng-2017', r, SECRET)}" for r in rows}


def _refusals(s: Scored) -> list[dict[str, object]]:
    rows = s.seed.rows("SELECT after FROM audit_event WHERE action = 'portal.refuse'")
    return [r.after if isinstance(r.after, dict) else json.loads(r.after) for r in rows]


def test_the_page_shows_the_results_the_failed_cells_and_the_form(
    scored: Scored, page: TestClient
) -> None:
    html = page.get(_links(scored)["王主任"]).text
    assert "王主任，您好" in html and "平安校园" in html and "还需 1 个单位达标" in html
    assert "一票否决" in html and "签批的含义" in html
    assert 'value="同意命名"' in html and 'value="退回复查"' in html and "<script" not in html


def test_a_forged_link_is_refused_and_audited_with_its_fingerprint(
    scored: Scored, page: TestClient
) -> None:
    link = _links(scored)["王主任"]
    forged = link[:-2] + ("AA" if not link.endswith("AA") else "BB")
    answer = page.get(forged)
    assert answer.status_code == 403 and "链接无效" in answer.text
    [refusal] = _refusals(scored)
    assert refusal["token"] == fingerprint(forged[3:]) and refusal["page"] == "signoff"


def test_a_link_past_its_deadline_no_longer_opens(scored: Scored, page: TestClient) -> None:
    link = _links(scored, hours=-1)["王主任"]
    answer = page.get(link)
    assert answer.status_code == 410 and "过期" in answer.text


def test_a_closed_link_says_the_sign_off_was_given(scored: Scored, page: TestClient) -> None:
    link = _links(scored)["李副主任"]
    close_signoff_links(scored.engine, scored.seed.handle, RUN, "answered")
    answer = page.get(link)
    assert answer.status_code == 410 and "已有签批结果" in answer.text
    assert "徐城街道" in answer.text  # the campaign's own heading, not the upload portal's


def test_a_send_back_without_a_comment_is_answered_on_the_page(
    scored: Scored, page: TestClient
) -> None:
    link = _links(scored)["王主任"]
    answer = page.post(link, data={"decision": "退回复查"})
    assert answer.status_code == 422 and "退回时须填写意见" in answer.text
    assert scored.seed.scalar("SELECT count(*) FROM signoff_link WHERE used_at IS NOT NULL") == 0


def test_a_malformed_hold_back_line_is_answered_on_the_page(
    scored: Scored, page: TestClient
) -> None:
    link = _links(scored)["王主任"]
    answer = page.post(link, data={"decision": "同意命名", "holds": "S0001 没有冒号"})
    assert answer.status_code == 422 and "单位编码:理由" in answer.text
    assert "S0001 没有冒号" in answer.text  # what was typed is kept in the form

"""The leader's live view, on SQLite and PostgreSQL: what the coordinator's and a lead
unit's links show, the links that are refused, and the downloads behind the signed link."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine

from pingan.adapters.channels.file import FileChannel
from pingan.core.campaign import artifact_slug
from pingan.core.leader import ALL_DOMAINS, LeaderClaims, sign_leader
from pingan.services.dispatch import Delivery, run_dispatch
from pingan.services.documents import write_documents
from tests.factories import SEED_CODE, Loaded, load_seed
from tests.portal.conftest import SECRET, SHANGHAI, Clock, Portal, make_portal
from tests.verify.conftest import AFTER_AWARDS, Awarded, verify_portal

TICKED = date(2017, 5, 16)  # the local plan (due 05-15) is one working day overdue


class NoPortal:
    portal_base_url: str | None = None
    portal_secret = None
    portal_link_days = 30


def leader_path(scope: str = ALL_DOMAINS, *, days: int = 30, now: datetime = AFTER_AWARDS) -> str:
    claims = LeaderClaims(SEED_CODE, scope, now.astimezone(UTC) + timedelta(days=days))
    return f"/l/{sign_leader(claims, SECRET)}"


@pytest.fixture
def ticked(engine: Engine, tmp_path: Path) -> Portal:
    """The seed on 2017-05-16, ticked and its messages delivered (to a file)."""
    seed: Loaded = load_seed(engine, tmp_path, cells=20)
    seed.tick(TICKED)
    delivery = Delivery({"file": FileChannel(tmp_path / "sent.jsonl")}, override="file")
    run_dispatch(engine, seed.handle, delivery, NoPortal(), respect_quiet_hours=False)
    return make_portal(seed, tmp_path, Clock(datetime(2017, 5, 16, 10, 0, tzinfo=SHANGHAI)))


def test_the_coordinator_sees_every_domain_and_each_red_item_with_its_level(
    ticked: Portal,
) -> None:
    now = datetime(2017, 5, 16, 10, 0, tzinfo=SHANGHAI)
    r = ticked.client.get(leader_path(now=now))
    assert r.status_code == 200
    campaign = ticked.seed.handle.campaign
    for d in campaign.domains:
        assert d.name in r.text
    assert "逾期未报" in r.text and "督办第 1 级" in r.text
    # A message was sent, but no read receipt exists: whether it was seen is unknown.
    assert "是否已读：<strong>未读</strong>" in r.text  # nobody has opened a link
    assert "<svg" in r.text and "<polyline" in r.text and "<script" not in r.text


def test_a_lead_units_link_shows_only_its_domain(ticked: Portal) -> None:
    now = datetime(2017, 5, 16, 10, 0, tzinfo=SHANGHAI)
    campaign = ticked.seed.handle.campaign
    mine, other = campaign.domains[0], campaign.domains[1]
    page = ticked.client.get(leader_path(mine.key, now=now)).text
    assert f"创建进展（{mine.name}）" in page
    assert other.name not in page


def test_a_units_personal_link_does_not_open_the_leaders_view(ticked: Portal) -> None:
    unit_token = ticked.token(ticked.cell())
    r = ticked.client.get(f"/l/{unit_token}")
    assert r.status_code == 403 and "链接无效" in r.text


def test_an_expired_or_unknown_scope_link_is_refused(ticked: Portal) -> None:
    long_ago = datetime(2017, 3, 1, tzinfo=SHANGHAI)
    assert ticked.client.get(leader_path(now=long_ago)).status_code == 410
    now = datetime(2017, 5, 16, 10, 0, tzinfo=SHANGHAI)
    assert ticked.client.get(leader_path("no-such-domain", now=now)).status_code == 410


def _with_files(awarded: Awarded, tmp_path: Path) -> Portal:
    out = tmp_path / "output"
    write_documents(awarded.engine, awarded.seed.handle, out_dir=out / SEED_CODE)
    reports = out / artifact_slug(SEED_CODE) / "reports"
    reports.mkdir(parents=True)
    (reports / "report-20171120.html").write_text("<p>old</p>", encoding="utf-8")
    (reports / "report-20171201.html").write_text("<p>工作进展报告</p>", encoding="utf-8")
    return verify_portal(awarded, tmp_path, output_root=out)


def test_certificates_and_the_latest_report_download_through_the_signed_link(
    awarded: Awarded, tmp_path: Path
) -> None:
    portal = _with_files(awarded, tmp_path)
    base = leader_path()
    page = portal.client.get(base).text
    a = awarded.award()
    assert f"c/{a.id}.pdf" in page and "report.html" in page and "report.xlsx" not in page
    pdf = portal.client.get(f"{base}/c/{a.id}.pdf")
    assert pdf.status_code == 200 and pdf.content[:5] == b"%PDF-"
    report = portal.client.get(f"{base}/report.html")
    assert report.status_code == 200 and "工作进展报告" in report.text


def test_a_lead_unit_cannot_download_another_domains_certificate(
    awarded: Awarded, tmp_path: Path
) -> None:
    portal = _with_files(awarded, tmp_path)
    campus = next(a for a in awarded.awards if a.domain == "campus")
    other = next(a for a in awarded.awards if a.domain != "campus")
    base = leader_path("campus")
    page = portal.client.get(base).text
    assert f"c/{campus.id}.pdf" in page and f"c/{other.id}.pdf" not in page
    assert portal.client.get(f"{base}/c/{campus.id}.pdf").status_code == 200
    assert portal.client.get(f"{base}/c/{other.id}.pdf").status_code == 404
    assert portal.client.get(f"{leader_path()}/c/{other.id}.pdf").status_code == 200
    for absurd in ("0", str(2**31), str(2**70), "x"):
        assert portal.client.get(f"{base}/c/{absurd}.pdf").status_code in (400, 404), absurd


def test_a_revoked_certificate_is_neither_listed_nor_served(
    awarded: Awarded, tmp_path: Path
) -> None:
    from pingan.services import award as awarding

    portal = _with_files(awarded, tmp_path)
    a = awarded.award()
    awarding.revoke(awarded.engine, awarded.seed.handle, target=a.number, reason="撤销", actor="t")
    base = leader_path()
    assert f"c/{a.id}.pdf" not in portal.client.get(base).text
    assert portal.client.get(f"{base}/c/{a.id}.pdf").status_code == 404


def test_villages_and_trend_count_the_passed_cells(awarded: Awarded, tmp_path: Path) -> None:
    from sqlalchemy.orm import Session

    from pingan.adapters.db.reporting.leader import Scope, trend, village_kpis

    seed = awarded.seed
    scope = Scope(seed.handle.campaign, seed.handle.campaign_id, date(2017, 11, 30), "campus")
    with Session(awarded.engine) as session:
        villages = village_kpis(session, scope)
        t = trend(session, scope)
    assert sum(v.kpi.passed for v in villages) == 2  # two campus cells passed, one failed
    assert sum(v.kpi.assessed for v in villages) == 3
    assert t.passed[-1] == 2 and t.covered[-1] >= 3
    assert t.days[0] == seed.handle.campaign.starts_on and t.days[-1] == date(2017, 11, 30)
    assert t.passed[t.days.index(date(2017, 11, 14))] == 0  # assessed on 11-15

"""The HTML report opened in a real headless browser (Debian's chromium, as .ci/run installs).

A seed campaign with a simulated history — most submissions on time, some late, some never,
reminders and escalations planned and expanded, a few cells failing acceptance and one
vetoed — is reported as of 2017-11-20 and the page is loaded from disk: it must open without
console errors, every chart must decode, and the screenshot must show a page, not a blank.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from random import Random
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import text

from pingan.adapters.db.assessing import active_cells, store_scores
from pingan.adapters.db.session import make_engine, session_scope
from pingan.adapters.outbox import expand
from pingan.core.scores import ScoreRow
from pingan.core.scoring import ScoreSheet
from pingan.services.report import build_report
from tests.factories import SEED_CODE, Loaded, load_seed

pytestmark = pytest.mark.slow

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
AS_OF = date(2017, 11, 20)


def _simulate(db: Loaded) -> None:
    """Deterministic history: 80% on time, 12% late, 8% never; ticks plan the messages."""
    rng = Random(2017)
    rows = db.rows(
        "SELECT o.id, o.opens_on, o.due_on FROM obligation o JOIN gate g ON g.id = o.gate_id "
        "WHERE o.campaign_id = :c AND g.evidence = 'files' ORDER BY o.id"
    )
    updates = []
    for oid, opens_on, due_on in rows:
        opens, due = date.fromisoformat(str(opens_on)), date.fromisoformat(str(due_on))
        roll = rng.random()
        if roll < 0.08:
            continue
        if roll < 0.20:
            day = due + timedelta(days=rng.randint(1, 12))
        else:
            day = due - timedelta(days=int((due - opens).days * rng.random() ** 3))
        updates.append({"d": day, "i": oid})
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE obligation SET done_on = :d WHERE id = :i"), updates)
    for day in (date(2017, 5, 12), date(2017, 5, 19), date(2017, 10, 30), date(2017, 11, 8)):
        db.tick(day)
    with session_scope(db.engine) as session:
        expand(session, db.cid, datetime(2017, 11, 8, 9))


def _assess(db: Loaded) -> None:
    campaign = db.handle.campaign
    cells = sorted(active_cells(db.engine, db.cid).values(), key=lambda c: c.code)[:30]
    rows = []
    for i, cell in enumerate(cells):
        rubric = campaign.domain(cell.domain).rubric
        share = 0.5 if i % 10 == 3 else 1.0
        vetoes = frozenset({rubric.vetoes[0].key}) if i == 7 and rubric.vetoes else frozenset()
        rows.append(
            ScoreRow(
                cell=cell.code,
                domain=cell.domain,
                sheet=ScoreSheet({c.key: c.points * share for c in rubric.criteria}, {}, vetoes),
                assessor="考核组",
                assessed_on=date(2017, 11, 15),
                note=None,
                where=f"第 {i + 2} 行",
            )
        )
    with session_scope(db.engine) as session:
        store_scores(
            session, campaign, db.cid, rows, source="test", actor="test", file_name="scores"
        )


@pytest.fixture(scope="module")
def report_html(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("browser")
    engine = make_engine(f"sqlite:///{tmp / 'pingan.db'}")
    db = load_seed(engine, tmp, cells=120, seed=11)
    _simulate(db)
    _assess(db)
    paths = build_report(engine, SEED_CODE, AS_OF, tmp / "out")
    engine.dispose()
    return paths.html


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        pytest.skip(
            f"浏览器检查已跳过：未找到 {CHROMIUM} 或 {CHROMEDRIVER}"
            "（Debian/Ubuntu：apt-get install chromium chromium-driver；.ci/run 会安装）"
        )
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1280,2400"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture(scope="module")
def page(browser: Any, report_html: Path) -> Any:
    browser.get(report_html.as_uri())
    browser.execute_script("return document.readyState")
    return browser


def test_the_report_opens_without_console_errors(page: Any) -> None:
    severe = [e for e in page.get_log("browser") if e.get("level") == "SEVERE"]
    assert severe == []
    assert "工作进展报告" in page.title


def test_every_chart_decodes_in_the_browser(page: Any) -> None:
    sizes = page.execute_script(
        "return Array.from(document.images).map(i => [i.complete, i.naturalWidth, i.width])"
    )
    assert len(sizes) == 4
    for complete, natural, shown in sizes:
        assert complete and natural > 0 and shown > 0


def test_the_screenshot_is_a_page_not_a_blank(page: Any, report_html: Path) -> None:
    png = page.get_screenshot_as_png()
    (report_html.parent / "screenshot.png").write_bytes(png)  # kept for a human to look at
    colours = Image.open(io.BytesIO(png)).convert("RGB").getcolors(maxcolors=1 << 24)
    assert colours is not None and len(colours) > 500

"""End to end in Debian's chromium (headless, through selenium and /usr/bin/chromedriver):
open the link from a rendered reminder on a phone-sized screen, see the due item, upload a
PDF with the plain form, see the receipt — and keep a screenshot."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

from pingan import root
from tests.factories import load_seed
from tests.portal._server import serving
from tests.portal.conftest import SECRET, SHANGHAI, Clock, make_portal, pdf

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
# WeChat's in-app browser on Android announces itself like this.
WECHAT_UA = (
    "Mozilla/5.0 (Linux; Android 13; V2049A Build/TP1A.220624.014; wv) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Version/4.0 Chrome/116.0.0.0 Mobile Safari/537.36 XWEB/1160065 "
    "MMWEBSDK/20231202 MMWEBID/1234 MicroMessenger/8.0.47.2560(0x28002F30) WeChat/arm64 "
    "Weixin NetType/WIFI Language/zh_CN ABI/arm64"
)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not (CHROMIUM.exists() and CHROMEDRIVER.exists()),
        reason="需要 Debian 的 chromium 与 chromium-driver（.ci/run 会安装）",
    ),
]


@pytest.fixture
def browser(monkeypatch: pytest.MonkeyPatch) -> Iterator[WebDriver]:
    monkeypatch.setenv("SE_OFFLINE", "true")  # never let selenium fetch a browser
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--window-size=390,844",
        f"--user-agent={WECHAT_UA}",
        "--lang=zh-CN",
    ):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def test_a_cell_opens_its_reminder_link_uploads_a_pdf_and_gets_a_receipt(
    browser: WebDriver, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pingan.adapters.db.session import make_engine

    engine = make_engine(f"sqlite:///{tmp_path / 'pingan.db'}")
    seed = load_seed(engine, tmp_path, cells=12)
    # 2017-10-26: three working days before the self-check report is due.
    portal = make_portal(seed, tmp_path, Clock(datetime(2017, 10, 26, 9, 30, tzinfo=SHANGHAI)))
    with serving(portal.app) as base_url:
        monkeypatch.setenv("PINGAN_PORTAL_BASE_URL", base_url)
        monkeypatch.setenv("PINGAN_PORTAL_SECRET", SECRET)
        root.reset()
        try:
            # The tick's preview renders each message exactly as delivery will.
            reminders = seed.tick(date(2017, 10, 26), dry_run=True).previews
        finally:
            root.reset()
        reminder = next(
            m for m in reminders if m.kind == "reminder" and m.recipient_code.startswith("SYN-C")
        )
        [link] = re.findall(re.escape(base_url) + r"/u/[A-Za-z0-9_.-]+", reminder.body)
        document = tmp_path / "自查报告.pdf"
        document.write_bytes(pdf("平安细胞创建自查报告"))

        browser.get(link)
        card = browser.find_element(By.ID, "gate-self-check")
        assert reminder.recipient_name in browser.find_element(By.TAG_NAME, "h1").text
        assert "自查报告（查漏补缺情况）" in card.text
        assert "临近截止" in card.text and "2017年10月31日" in card.text
        assert browser.save_screenshot(str(tmp_path / "portal-page.png"))
        button = card.find_element(By.CSS_SELECTOR, "button[type=submit]")
        assert button.size["height"] >= 48  # a thumb-sized target: the stylesheet loaded
        header = browser.find_element(By.CSS_SELECTOR, "header.bar")
        assert header.value_of_css_property("background-color") == "rgba(179, 45, 46, 1)"

        card.find_element(By.CSS_SELECTOR, "input[type=file]").send_keys(str(document))
        card.find_element(By.CSS_SELECTOR, "input[name=submitted_by]").send_keys("王五")
        button.click()
        # While the page navigates, Chromium may answer for a node of the old document.
        navigating = WebDriverWait(browser, 20, ignored_exceptions=(WebDriverException,))
        navigating.until(
            expected_conditions.text_to_be_present_in_element((By.TAG_NAME, "h1"), "报送成功")
        )
        receipt = browser.find_element(By.CSS_SELECTOR, ".number strong").text
        shot = tmp_path / "portal-receipt.png"
        assert browser.save_screenshot(str(shot))

        browser.find_element(By.LINK_TEXT, "返回报送页面").click()
        navigating.until(
            expected_conditions.text_to_be_present_in_element((By.ID, "gate-self-check"), "已完成")
        )
        card = browser.find_element(By.ID, "gate-self-check")
        assert "已完成" in card.text and receipt in card.text and "自查报告.pdf" in card.text

    assert re.fullmatch(r"20171026-[0-9A-F]{8}", receipt)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    [row] = portal.files(reminder.recipient_code)
    assert (row.original_name, row.source, row.submitted_by) == ("自查报告.pdf", "portal", "王五")
    [event] = portal.audit("portal.upload")
    assert event["receipt"] == receipt
    engine.dispose()

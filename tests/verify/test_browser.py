"""On a phone (Debian's chromium, a phone-sized screen, WeChat's user agent): the QR code
decoded from a certificate PDF opens its verification page; a copied number and code typed
with another unit's name is refused; the coordinator's live view shows the progress.

With PINGAN_DOC_SCREENSHOTS=<folder> the screenshots are also copied there (that is how the
README's images under docs/images/ were made)."""

from __future__ import annotations

import os
import shutil
import subprocess
from datetime import date, datetime
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

from pingan.adapters.channels.file import FileChannel
from pingan.services.dispatch import Delivery, run_dispatch
from pingan.services.documents import certificate_path, write_documents
from tests.factories import Loaded
from tests.portal._server import serving
from tests.portal.conftest import SHANGHAI, Clock, make_portal
from tests.portal.test_browser import CHROMEDRIVER, CHROMIUM, browser  # noqa: F401
from tests.verify.conftest import Awarded, award_some
from tests.verify.test_leader import NoPortal, leader_path

NOW = datetime(2017, 11, 20, 9, 30, tzinfo=SHANGHAI)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not (CHROMIUM.exists() and CHROMEDRIVER.exists() and shutil.which("zbarimg")),
        reason="需要 Debian 的 chromium、chromium-driver 与 zbar-tools（.ci/run 会安装）",
    ),
]


def _keep(driver: WebDriver, tmp_path: Path, name: str) -> Path:
    shot = tmp_path / name
    assert driver.save_screenshot(str(shot))
    docs = os.environ.get("PINGAN_DOC_SCREENSHOTS")
    if docs:
        from PIL import Image

        # 128 colours: a page of flat colours and text stays legible at a third of the size.
        with Image.open(shot) as image:
            small = image.convert("RGB").quantize(colors=128)
            small.save(Path(docs) / name, optimize=True)
    return shot


def _decode_qr(pdf: Path, tmp_path: Path) -> str:
    png = tmp_path / "certificate"
    subprocess.run(["pdftoppm", "-r", "110", "-png", "-singlefile", str(pdf), str(png)], check=True)
    found = subprocess.run(
        ["zbarimg", "--quiet", "--raw", "-Sdisable", "-Sqrcode.enable", f"{png}.png"],
        capture_output=True,
        text=True,
        check=True,
    )
    return found.stdout.strip()


def _progress(seed: Loaded, tmp_path: Path) -> None:
    """Most cells sent their self-check report in October, the rest are overdue by
    2017-11-10 and were told; then acceptance and awards (tests.verify.conftest)."""
    reports = [o for o in seed.obligations("self-check") if o.kind == "cell"]
    for i, o in enumerate(reports[: len(reports) * 3 // 4]):
        seed.set_done(o.id, date(2017, 10, 9 + (i * 3) % 22))
    seed.tick(date(2017, 11, 10))
    delivery = Delivery({"file": FileChannel(tmp_path / "sent.jsonl")}, override="file")
    run_dispatch(seed.engine, seed.handle, delivery, NoPortal(), respect_quiet_hours=False)


def test_on_a_phone_the_qr_code_verifies_and_the_leader_sees_progress(
    browser: WebDriver,  # noqa: F811
    to_award: Loaded,
    tmp_path: Path,
) -> None:
    _progress(to_award, tmp_path)
    awarded = Awarded(to_award, award_some(to_award))
    out = tmp_path / "output"
    portal = make_portal(awarded.seed, tmp_path, Clock(NOW), output_root=out)
    wait = WebDriverWait(browser, 20)
    with serving(portal.app) as base_url:
        write_documents(
            awarded.engine,
            awarded.seed.handle,
            out_dir=out / "xucheng-2017",
            verify_base_url=base_url,
        )
        a, other = awarded.award(0), awarded.award(1)
        url = _decode_qr(certificate_path(out / "xucheng-2017" / "certificates", a), tmp_path)
        assert url.startswith(f"{base_url}/v/")

        browser.get(url)
        verdict = browser.find_element(By.ID, "verdict")
        assert (
            "证书有效" in verdict.text and a.cell_name in verdict.text and a.number in verdict.text
        )
        _keep(browser, tmp_path, "phone-verify.png")

        browser.find_element(By.ID, "number").send_keys(a.number)
        browser.find_element(By.ID, "code").send_keys(a.verification_code)
        browser.find_element(By.ID, "name").send_keys(other.cell_name)
        browser.find_element(By.CSS_SELECTOR, ".verify-form button[type=submit]").click()
        wait.until(
            expected_conditions.text_to_be_present_in_element((By.ID, "verdict"), "单位名称不符")
        )
        assert a.cell_name not in browser.find_element(By.ID, "verdict").text

        browser.set_window_size(390, 1500)
        browser.get(base_url + leader_path(now=NOW))
        assert "创建进展" in browser.find_element(By.TAG_NAME, "h1").text
        assert "督办第" in browser.find_element(By.ID, "red").text
        assert "未读" in browser.find_element(By.ID, "red").text
        chart = browser.find_element(By.CSS_SELECTOR, "#trend svg")
        assert chart.size["width"] > 300  # drawn, and as wide as the phone allows
        _keep(browser, tmp_path, "phone-leader.png")
        browser.find_element(By.PARTIAL_LINK_TEXT, a.cell_name).click()
        assert browser.current_url.endswith(f"/c/{a.id}.pdf")

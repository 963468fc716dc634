"""The sign-off loop end to end, in Debian's chromium on a phone-sized screen with WeChat's
user agent, against a real `prefect server start`: the acceptance run (a worker process)
pauses → the approver's message goes out on the file channel → the link opens the phone
page → 同意命名 → the run resumes and completes → certificates exist. Screenshots kept."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import get_args

import httpx
from pydantic import SecretStr
from selenium.common.exceptions import TimeoutException, WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

from pingan.adapters.channels.base import Channel, ChannelName
from pingan.adapters.channels.file import FileChannel
from pingan.adapters.db.session import make_engine
from pingan.services.dispatch import Delivery, run_dispatch
from tests.portal.test_browser import browser as phone  # the phone-sized chromium
from tests.portal.test_browser import pytestmark as browser_marks
from tests.robustness._harness import free_port, prefect_server
from tests.signoff.conftest import AS_OF, SECRET, load_scored

ROOT = Path(__file__).resolve().parents[2]
pytestmark = browser_marks
SHOTS = os.environ.get("PINGAN_SCREENSHOTS")  # e.g. docs/images: keep the pictures


class Portal:
    def __init__(self, base_url: str) -> None:
        self.portal_base_url: str | None = base_url
        self.portal_secret: SecretStr | None = SecretStr(SECRET)
        self.portal_link_days = 30


def _wait_for_links(engine: object, proc: subprocess.Popen[bytes], log: Path) -> None:
    from sqlalchemy import text

    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        with engine.connect() as conn:  # type: ignore[attr-defined]
            if conn.execute(text("SELECT count(*) FROM signoff_link")).scalar_one() == 2:
                return
        if proc.poll() is not None:
            raise AssertionError(log.read_text(errors="replace")[-3000:])
        time.sleep(0.5)
    raise AssertionError("the acceptance run never asked for its sign-off")


def _shot(browser: WebDriver, tmp_path: Path, name: str) -> None:
    assert browser.save_screenshot(str(tmp_path / name))
    if SHOTS:
        browser.save_screenshot(str(Path(SHOTS) / name))


__all__ = ["phone"]


@contextmanager
def portal_process(env: dict[str, str], db: str, tmp_path: Path) -> Iterator[str]:
    """`pingan portal` as deployed: its own process, Prefect's API from its environment."""
    port, log = free_port(), tmp_path / "portal.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "pingan.cli.portal", "portal", "--port", str(port), "--db", db],
            stdout=out, stderr=subprocess.STDOUT, env=env, cwd=tmp_path,
        )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).text == "ok":
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None, log.read_text(encoding="utf-8", errors="replace")
            assert time.monotonic() < deadline, "portal did not start"
            time.sleep(0.2)
        yield base
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_an_approver_signs_off_on_a_phone_and_the_run_awards(
    phone: WebDriver, tmp_path: Path
) -> None:
    browser = phone
    db = f"sqlite:///{tmp_path / 'pingan.db'}"
    engine = make_engine(db)
    scored = load_scored(engine, tmp_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "PINGAN_"))}
    env |= {
        "PINGAN_DATABASE_URL": db,
        "PINGAN_HOME": str(tmp_path / "home"),
        "PINGAN_PORTAL_SECRET": SECRET,
        "PINGAN_AWARD_SECRET": "browser-test-key",
        "PYTHONPATH": str(ROOT),
    }
    with prefect_server(tmp_path) as prefect_env:
        env |= prefect_env
        with portal_process(env, db, tmp_path) as base_url:
            env["PINGAN_PORTAL_BASE_URL"] = base_url
            out, log = tmp_path / "result.json", tmp_path / "worker.log"
            with log.open("wb") as sink:
                worker = subprocess.Popen(
                    [sys.executable, "-m", "tests.signoff._acceptance_child",
                     "xucheng-2017", AS_OF.isoformat(), str(out)],
                    cwd=ROOT, env=env, stdout=sink, stderr=subprocess.STDOUT,
                )  # fmt: skip
            try:
                _wait_for_links(engine, worker, log)
                outbox = tmp_path / "outbox.jsonl"
                # Every channel name onto one JSONL file, the personal ones included.
                file_sink: Channel = FileChannel(outbox)
                channels = {name: file_sink for name in get_args(ChannelName)}
                delivery = Delivery(channels, "file")
                run_dispatch(
                    engine, scored.seed.handle, delivery, Portal(base_url),
                    respect_quiet_hours=False,
                )  # fmt: skip
                sent = [json.loads(x) for x in outbox.read_text("utf-8").splitlines()]
                [message] = [m for m in sent if m["body"].startswith("王主任")]
                [link] = re.findall(re.escape(base_url) + r"/s/[A-Za-z0-9_.-]+", message["body"])

                browser.get(link)
                assert "考核验收签批" in browser.find_element(By.TAG_NAME, "h1").text
                page = browser.find_element(By.TAG_NAME, "main").text
                assert "平安校园" in page and "还需 1 个单位达标" in page and "一票否决" in page
                _shot(browser, tmp_path, "signoff-page.png")
                browser.find_element(By.CSS_SELECTOR, "input[value=同意命名]").click()
                browser.find_element(By.ID, "comment").send_keys("同意对考核达标单位命名挂牌")
                button = browser.find_element(By.CSS_SELECTOR, "form button[type=submit]")
                assert button.size["height"] >= 48
                button.click()
                try:
                    WebDriverWait(browser, 60, ignored_exceptions=(WebDriverException,)).until(
                        expected_conditions.text_to_be_present_in_element(
                            (By.TAG_NAME, "h1"), "签批已提交"
                        )
                    )
                except TimeoutException as exc:
                    audit = scored.seed.rows("SELECT after FROM audit_event WHERE actor='portal'")
                    body = browser.find_element(By.TAG_NAME, "body").text
                    raise AssertionError(f"{body}\n{audit}") from exc
                _shot(browser, tmp_path, "signoff-done.png")
                assert worker.wait(timeout=120) == 0, log.read_text(errors="replace")[-3000:]
            finally:
                if worker.poll() is None:
                    worker.kill()
                    worker.wait(timeout=30)
    result = json.loads(out.read_text("utf-8"))
    assert result["signoff"] == {"approved": True, "approver": "王主任"}
    assert result["award"]["awarded"] == 4
    certificates = Path(result["award"]["documents"]["证书目录"])
    assert len(list(certificates.rglob("*.pdf"))) == 4
    engine.dispose()

"""The portal as its own process (`pingan portal`, here `python -m pingan.cli.portal portal`)
on a loopback port: it serves pages and uploads, refuses an oversized body before reading
it, and writes no personal link to its logs."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine

from pingan.core.links import LinkClaims, sign
from tests.factories import ROOT, SEED_CODE, Loaded, load_seed
from tests.portal.conftest import SECRET, pdf

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Running:
    base: str
    process: subprocess.Popen[bytes]
    log: Path
    seed: Loaded

    def logs(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")


@pytest.fixture
def running(engine: Engine, db_url: str, tmp_path: Path) -> Iterator[Running]:
    seed = load_seed(engine, tmp_path, cells=6)
    port = free_port()
    log = tmp_path / "portal.log"
    env = {
        **os.environ,
        "PINGAN_PORTAL_SECRET": SECRET,
        "PINGAN_HOME": str(tmp_path / "home"),
        "PYTHONPATH": str(ROOT),
    }
    command = [sys.executable, "-m", "pingan.cli.portal", "portal"]
    with log.open("wb") as out:
        process = subprocess.Popen(
            [*command, "--port", str(port), "--db", db_url],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=tmp_path,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).text == "ok":
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None, log.read_text(encoding="utf-8")
            assert time.monotonic() < deadline, "portal did not start"
            time.sleep(0.1)
        yield Running(base, process, log, seed)
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_the_portal_process_serves_refuses_unread_and_logs_no_link(running: Running) -> None:
    code = str(running.seed.scalar("SELECT code FROM unit WHERE kind = 'cell' ORDER BY code"))
    token = sign(LinkClaims(SEED_CODE, code, 1, datetime.now(UTC) + timedelta(days=1)), SECRET)
    url = f"{running.base}/u/{token}"

    page = httpx.get(url, timeout=10)
    upload = httpx.post(
        url,
        data={"gate": "self-check"},
        files={"file": ("自查报告.pdf", pdf(), "application/pdf")},
        timeout=30,
    )
    # Headers promising a gigabyte, and no body at all: the answer must not wait for it.
    with socket.create_connection(("127.0.0.1", int(running.base.rsplit(":", 1)[1]))) as s:
        s.settimeout(10)
        s.sendall(
            (
                f"POST /u/{token} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                "Content-Type: multipart/form-data; boundary=x\r\n"
                f"Content-Length: {10**9}\r\n\r\n"
            ).encode()
        )
        status_line = s.recv(4096).split(b"\r\n", 1)[0]

    assert page.status_code == 200 and "自查报告（查漏补缺情况）" in page.text
    assert "server" not in page.headers
    assert upload.status_code == 200 and "报送成功" in upload.text
    assert status_line == b"HTTP/1.1 413 Request Entity Too Large"
    running.process.send_signal(signal.SIGINT)
    running.process.wait(timeout=20)
    logs = running.logs()
    assert "网上报送门户已启动" in logs
    assert token not in logs and token.split(".")[1] not in logs

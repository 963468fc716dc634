"""From tick to inbox: planned messages reach a real SMTP server and a robot stand-in with the
content the rules and templates call for."""

from __future__ import annotations

import email
import io
import json
import socket
import threading
import urllib.parse
from collections.abc import Iterator
from datetime import date
from email import policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from openpyxl import load_workbook
from sqlalchemy import Engine

from pingan import root
from pingan.core.campaign import load_campaign
from pingan.services.dispatch import run_dispatch
from pingan.services.load import load
from pingan.services.synth import HEADER, write_roster
from pingan.services.tick import evaluate_and_plan, open_campaign

LEAD_MAIL = "jiaoban@example.org"
LEAD_MOBILE = "13800138000"


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(
            email.message_from_bytes(envelope.content, policy=policy.default)  # type: ignore[arg-type]
        )
        return "250 OK"


class Robot(BaseHTTPRequestHandler):
    posts: list[dict[str, Any]] = []  # noqa: RUF012 - reset by the fixture

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        query = urllib.parse.parse_qs(urllib.parse.urlparse(self.path).query)
        Robot.posts.append({"query": query, "json": json.loads(raw.decode("utf-8"))})
        body = b'{"errcode":0,"errmsg":"ok"}'
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def mailbox() -> Iterator[tuple[Mailbox, int]]:
    box = Mailbox()
    port = _free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    yield box, port
    controller.stop()


@pytest.fixture
def robot() -> Iterator[str]:
    Robot.posts = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Robot)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def delivered(
    engine: Engine,
    db_url: str,
    seed_config: Path,
    tmp_path: Path,
    mailbox: tuple[Mailbox, int],
    robot: str,
    monkeypatch: pytest.MonkeyPatch,
) -> tuple[Mailbox, list[dict[str, Any]]]:
    box, port = mailbox
    roster = tmp_path / "roster.csv"
    write_roster(load_campaign(seed_config), 20, 4, roster)
    # The campus lead unit registers an email and a WeCom robot with a contact's mobile.
    row = dict.fromkeys(HEADER, "")
    row.update(code="jdjb", name="街道教办", type="unit", contact="王主任", mobile=LEAD_MOBILE,
               email=LEAD_MAIL, wecom="secret:jdjb-wecom")  # fmt: skip
    with roster.open("a", encoding="utf-8") as f:
        f.write(",".join(row[h] for h in HEADER) + "\n")
    monkeypatch.setenv("PINGAN_SECRET_JDJB_WECOM", "robot-key-for-jdjb")
    monkeypatch.setenv("PINGAN_SECRET_SMTP", f"mailto://127.0.0.1:{port}?from=zzzx@example.org")
    monkeypatch.setenv("PINGAN_SMTP_REF", "secret:smtp")
    monkeypatch.setenv("PINGAN_WECOM_BASE_URL", robot)
    monkeypatch.setenv("PINGAN_DATABASE_URL", db_url)
    root.reset()
    load(engine, seed_config, roster)
    handle = open_campaign(engine, "xucheng-2017")
    # 05-18: three working days late — the lead rung: each lead unit gets its digest.
    for day in (date(2017, 5, 16), date(2017, 5, 18)):
        evaluate_and_plan(engine, handle, day)
    c = root.container()
    report = run_dispatch(engine, handle, c.delivery(), c.settings, respect_quiet_hours=False)
    root.reset()
    assert report.sent > 0
    return box, Robot.posts


def test_lead_unit_digest_arrives_by_mail_with_the_late_list_attached(
    delivered: tuple[Mailbox, list[dict[str, Any]]],
) -> None:
    box, _ = delivered
    digests = [m for m in box.messages if "督办汇总" in str(m["subject"])]
    assert digests, [str(m["subject"]) for m in box.messages]
    mail = digests[-1]
    assert mail["to"] == LEAD_MAIL
    text = mail.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    assert "街道教办：" in text and "\n" in text.strip()
    [attachment] = list(mail.iter_attachments())
    assert attachment.get_filename() == "late-items-2017-05-18.xlsx"
    sheet = load_workbook(io.BytesIO(attachment.get_content())).active
    assert sheet is not None
    assert sheet["A2"].value == "领域" and sheet.max_row > 2


def test_robot_gets_markdown_and_a_mention_of_the_contact(
    delivered: tuple[Mailbox, list[dict[str, Any]]],
) -> None:
    _, posts = delivered
    mine = [p for p in posts if p["query"].get("key") == ["robot-key-for-jdjb"]]
    kinds = [p["json"]["msgtype"] for p in mine]
    assert "markdown" in kinds
    mentions = [
        p["json"]["text"].get("mentioned_mobile_list")
        for p in mine
        if p["json"]["msgtype"] == "text"
    ]
    assert [LEAD_MOBILE] in mentions
    markdown = next(p["json"]["markdown"]["content"] for p in mine if "markdown" in p["json"])
    assert markdown.startswith("**【徐城街道平安细胞创建】")

"""The JSON webhook against a real local HTTP server, and the demo's JSONL file channel."""

from __future__ import annotations

import json
import traceback
from collections.abc import Iterator
from pathlib import Path

import pytest

from pingan.adapters.channels.base import Attachment, DeliveryError, Message, Target
from pingan.adapters.channels.file import FileChannel
from pingan.adapters.channels.webhook import JsonWebhook
from pingan.adapters.channels.wecom import TEXT_LIMIT
from pingan.adapters.secrets import MappingSecretResolver
from tests.integration.test_channels_robots import FakeHttpServer, Reply, long_chinese

TOKEN = "SEKRIT-HOOK-777"
HOOK = Target("webhook", "secret:oa-hook")


@pytest.fixture
def server() -> Iterator[FakeHttpServer]:
    srv = FakeHttpServer()
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture
def webhook(server: FakeHttpServer) -> Iterator[JsonWebhook]:
    resolver = MappingSecretResolver(
        {"secret:oa-hook": f"{server.base_url}/hooks/pingan?token={TOKEN}", "secret:bad": "ftp://x"}
    )
    channel = JsonWebhook(resolver, timeout=2)
    yield channel
    channel.close()


def test_webhook_posts_the_message_as_utf8_json(
    webhook: JsonWebhook, server: FakeHttpServer
) -> None:
    message = Message(
        subject="平安医院 自查逾期",
        body="第一行\n第二行",
        markdown="**逾期**",
        mentions=("13800000001",),
        dedupe_key="c1:o42:l2:2017-11-03",
    )

    receipt = webhook.send(HOOK, message)

    assert receipt.parts == 1
    [seen] = server.requests
    assert (seen.path, seen.query) == ("/hooks/pingan", {"token": TOKEN})
    assert seen.json == {
        "subject": "平安医院 自查逾期",
        "body": "第一行\n第二行",
        "markdown": "**逾期**",
        "mentions": ["13800000001"],
        "dedupe_key": "c1:o42:l2:2017-11-03",
    }
    assert seen.headers["Idempotency-Key"] == "c1:o42:l2:2017-11-03"


@pytest.mark.parametrize(
    ("reply", "retryable", "code"),
    [
        (Reply(status=204, body=b""), None, None),
        (Reply(status=400, body=b'{"error":"bad"}'), False, "http:400"),
        (Reply(status=401, body=f"token {TOKEN} rejected".encode()), False, "http:401"),
        (Reply(status=429, body=b"", headers={"Retry-After": "30"}), True, "http:429"),
        (Reply(status=500, body=b"boom"), True, "http:500"),
        (Reply(status=502, body=b""), True, "http:502"),
    ],
)
def test_webhook_status_maps_to_success_retryable_or_permanent(
    webhook: JsonWebhook,
    server: FakeHttpServer,
    reply: Reply,
    retryable: bool | None,
    code: str | None,
) -> None:
    server.script = [reply]
    if retryable is None:
        assert webhook.send(HOOK, Message("s", "b")).parts == 1
        return

    with pytest.raises(DeliveryError) as caught:
        webhook.send(HOOK, Message("s", "b"))

    err = caught.value
    assert (err.retryable, err.code) == (retryable, code)
    for text in (str(err), repr(err), "".join(traceback.format_exception(err))):
        assert TOKEN not in text


def test_webhook_reference_that_is_not_a_url_is_permanent(webhook: JsonWebhook) -> None:
    with pytest.raises(DeliveryError) as caught:
        webhook.send(Target("webhook", "secret:bad"), Message("s", "b"))

    assert (caught.value.retryable, caught.value.code) == (False, "config")
    assert "ftp://x" not in caught.value.detail


def test_file_channel_appends_one_utf8_json_line_per_message(tmp_path: Path) -> None:
    path = tmp_path / "out" / "sent.jsonl"
    channel = FileChannel(path)
    long_text = long_chinese()

    first = channel.send(Target("email", "a@b.cn"), Message("通知", "第一行\n第二行"))
    second = channel.send(
        Target("wecom", "secret:campus-wecom"),
        Message("长", long_text, attachments=(Attachment("a.xlsx", b"xyz"),), dedupe_key="k"),
    )

    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 2
    assert "通知" in lines[0]  # ensure_ascii=False: readable, not \\u escapes
    one, two = (json.loads(line) for line in lines)
    assert (one["channel"], one["address"], one["body"], one["parts"]) == (
        "email",
        "a@b.cn",
        "第一行\n第二行",
        1,
    )
    # A WeCom target counts the parts the robot would have sent.
    assert two["parts"] == second.parts == -(-len(long_text.encode()) // TEXT_LIMIT)
    assert first.parts == 1
    assert two["attachments"] == [
        {
            "filename": "a.xlsx",
            "bytes": 3,
            "sha256": "3608bca1e44ea6c4d268eb6db02260269892c0b42b86bbf1e77a6fa16c3c9282",
        }
    ]
    assert two["dedupe_key"] == "k"

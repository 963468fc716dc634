"""WeCom and DingTalk robots against a real local HTTP server impersonating both.

The server records each request (method, path, raw query, JSON body) and answers from a
script, so errcode handling, signing, splitting and secret hygiene are checked on the wire.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import re
import socket
import threading
import time
import traceback
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from pingan.adapters.channels.base import DeliveryError, Message, Target
from pingan.adapters.channels.dingtalk import DingTalkRobot
from pingan.adapters.channels.split import utf8_len
from pingan.adapters.channels.wecom import WeComRobot
from pingan.adapters.secrets import MappingSecretResolver

WECOM_KEY = "SEKRIT-KEY-123"
DING_TOKEN = "SEKRIT-TOKEN-456"
DING_SECRET = "SECSEKRIT789-signing"
SECRETS = (WECOM_KEY, DING_TOKEN, DING_SECRET)
MOBILES = ("13800000001", "13900000002")
OK = {"errcode": 0, "errmsg": "ok"}

# ------------------------------------------------------------------ the impersonating server


@dataclass
class Reply:
    status: int = 200
    body: Any = field(default_factory=lambda: dict(OK))  # dict → JSON; bytes → raw
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0


@dataclass
class Seen:
    method: str
    path: str
    raw_query: str
    headers: dict[str, str]
    body: bytes

    @property
    def query(self) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(self.raw_query).items()}

    @property
    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8"))  # strict: bad UTF-8 fails the test


class FakeHttpServer:
    """A ThreadingHTTPServer on 127.0.0.1:0; replies come from ``script`` in order, then OK."""

    def __init__(self) -> None:
        self.requests: list[Seen] = []
        self.script: list[Reply] = []
        self._lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                url = urlsplit(self.path)
                seen = Seen(
                    "POST", url.path, url.query, dict(self.headers), self.rfile.read(length)
                )
                with outer._lock:
                    outer.requests.append(seen)
                    reply = outer.script.pop(0) if outer.script else Reply()
                time.sleep(reply.delay_s)
                data = (
                    reply.body
                    if isinstance(reply.body, bytes)
                    else json.dumps(reply.body, ensure_ascii=False).encode("utf-8")
                )
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", "application/json; charset=utf-8")
                    self.send_header("Content-Length", str(len(data)))
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout test)

            def log_message(self, format: str, *args: Any) -> None:
                pass  # keep test output clean; the URLs here carry the fake keys

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        # A short poll keeps shutdown() (which waits one poll) from slowing every test.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def server() -> Iterator[FakeHttpServer]:
    srv = FakeHttpServer()
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture
def resolver() -> MappingSecretResolver:
    return MappingSecretResolver(
        {
            "secret:campus-wecom": WECOM_KEY,
            "secret:campus-wecom-url": (
                f"https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key={WECOM_KEY}"
            ),
            "secret:village-ding": DING_TOKEN,
            "secret:village-ding-signed": f"{DING_TOKEN}|{DING_SECRET}",
            "secret:village-ding-url": (
                f"https://oapi.dingtalk.com/robot/send?access_token={DING_TOKEN}|{DING_SECRET}"
            ),
        }
    )


@pytest.fixture
def wecom(server: FakeHttpServer, resolver: MappingSecretResolver) -> Iterator[WeComRobot]:
    robot = WeComRobot(resolver, base_url=server.base_url, timeout=2)
    yield robot
    robot.close()


@pytest.fixture
def dingtalk(server: FakeHttpServer, resolver: MappingSecretResolver) -> Iterator[DingTalkRobot]:
    robot = DingTalkRobot(resolver, base_url=server.base_url, timeout=2)
    yield robot
    robot.close()


WECOM = Target("wecom", "secret:campus-wecom")
DING = Target("dingtalk", "secret:village-ding")
DING_SIGNED = Target("dingtalk", "secret:village-ding-signed")


def long_chinese(min_bytes: int = 10 * 1024) -> str:
    lines: list[str] = []
    i = 0
    while utf8_len("\n".join(lines)) < min_bytes:
        i += 1
        lines.append(f"第{i}条：徐城街道平安校园创建自查报告尚未提交，请于本周五前补报。")
    return "\n".join(lines)


def strip_headers(contents: list[str]) -> str:
    n = len(contents)
    out = []
    for i, content in enumerate(contents, 1):
        header = f"（{i}/{n}）\n"
        assert content.startswith(header), content[:20]
        out.append(content[len(header) :])
    return "".join(out)


def assert_no_secret(*texts: str) -> None:
    for text in texts:
        for secret in SECRETS:
            assert secret not in text


def assert_error_clean(err: DeliveryError) -> None:
    assert_no_secret(str(err), repr(err), err.detail, "".join(traceback.format_exception(err)))
    assert err.__context__ is None and err.__cause__ is None


def expected_sign(timestamp: str, secret: str = DING_SECRET) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(), hashlib.sha256)
    return base64.b64encode(mac.digest()).decode()


# ------------------------------------------------------------------------------- WeCom


def test_wecom_text_payload_and_key_on_the_wire(wecom: WeComRobot, server: FakeHttpServer) -> None:
    receipt = wecom.send(WECOM, Message(subject="提醒", body="第一行\n第二行"))

    assert receipt.parts == 1
    [seen] = server.requests
    assert (seen.method, seen.path, seen.query) == (
        "POST",
        "/cgi-bin/webhook/send",
        {"key": WECOM_KEY},
    )
    assert seen.headers["Content-Type"].startswith("application/json")
    assert seen.json == {"msgtype": "text", "text": {"content": "第一行\n第二行"}}
    assert "第一行".encode() in seen.body  # raw UTF-8, not \\u escapes


def test_wecom_text_mentions_by_mobile(wecom: WeComRobot, server: FakeHttpServer) -> None:
    wecom.send(WECOM, Message(subject="提醒", body="请补报", mentions=MOBILES))

    assert server.requests[0].json == {
        "msgtype": "text",
        "text": {"content": "请补报", "mentioned_mobile_list": list(MOBILES)},
    }


def test_wecom_markdown_then_a_text_that_mentions(
    wecom: WeComRobot, server: FakeHttpServer
) -> None:
    message = Message(
        subject="平安校园逾期",
        body="纯文本备用",
        markdown='## 逾期\n> <font color="warning">3 所学校</font>',
        mentions=MOBILES,
    )

    receipt = wecom.send(WECOM, message)

    assert receipt.parts == 2 == wecom.parts(WECOM, message)
    assert [r.json for r in server.requests] == [
        {"msgtype": "markdown", "markdown": {"content": message.markdown}},
        {
            "msgtype": "text",
            "text": {
                "content": "请查看上方消息：平安校园逾期",
                "mentioned_mobile_list": list(MOBILES),
            },
        },
    ]


def test_wecom_markdown_without_mentions_is_one_post(
    wecom: WeComRobot, server: FakeHttpServer
) -> None:
    wecom.send(WECOM, Message(subject="s", body="b", markdown="**粗体**"))

    assert [r.json["msgtype"] for r in server.requests] == ["markdown"]


@pytest.mark.parametrize(("use_markdown", "limit"), [(False, 2048), (True, 4096)])
def test_wecom_splits_10kb_chinese_into_numbered_parts_within_limit(
    wecom: WeComRobot, server: FakeHttpServer, use_markdown: bool, limit: int
) -> None:
    text = long_chinese()
    message = Message(
        "长消息", body=text, markdown=text if use_markdown else None, mentions=MOBILES
    )

    receipt = wecom.send(WECOM, message)

    bodies = [r.json for r in server.requests]
    kind = "markdown" if use_markdown else "text"
    parts = [b[kind]["content"] for b in bodies if b["msgtype"] == kind]
    assert len(parts) == (10 * 1024) // limit + 1
    assert receipt.parts == len(bodies)
    assert all(utf8_len(p) <= limit for p in parts)
    assert strip_headers(parts) == text
    # One ping per message, at the end.
    mentioned = [b for b in bodies if "mentioned_mobile_list" in b.get("text", {})]
    assert mentioned == [bodies[-1]]


@pytest.mark.parametrize(
    ("reply", "retryable", "code", "retry_after"),
    [
        (
            Reply(body={"errcode": 45009, "errmsg": "api freq out of limit"}),
            True,
            "errcode:45009",
            60.0,
        ),
        (Reply(body={"errcode": -1, "errmsg": "system busy"}), True, "errcode:-1", None),
        (
            Reply(body={"errcode": 93000, "errmsg": "invalid webhook url"}),
            False,
            "errcode:93000",
            None,
        ),
        (
            Reply(body={"errcode": 40058, "errmsg": "content exceed max length"}),
            False,
            "errcode:40058",
            None,
        ),
        (Reply(status=500, body=b"oops"), True, "http:500", None),
        (Reply(status=503, body=b"", headers={"Retry-After": "7"}), True, "http:503", 7.0),
        (Reply(status=429, body=b"", headers={"Retry-After": "12"}), True, "http:429", 12.0),
        (Reply(status=404, body=b"not found"), False, "http:404", None),
        (Reply(status=302, body=b"", headers={"Location": "/elsewhere"}), False, "http:302", None),
        (Reply(body=b"<html>portal</html>"), True, "bad-reply", None),
    ],
)
def test_wecom_reply_maps_to_retryable_or_permanent(
    wecom: WeComRobot,
    server: FakeHttpServer,
    reply: Reply,
    retryable: bool,
    code: str,
    retry_after: float | None,
) -> None:
    server.script = [reply]

    with pytest.raises(DeliveryError) as caught:
        wecom.send(WECOM, Message("s", "b"))

    err = caught.value
    assert (err.retryable, err.code, err.retry_after_s) == (retryable, code, retry_after)
    assert_error_clean(err)


def test_slow_reply_beyond_timeout_is_retryable(
    server: FakeHttpServer, resolver: MappingSecretResolver
) -> None:
    server.script = [Reply(delay_s=1.5)]
    robot = WeComRobot(resolver, base_url=server.base_url, timeout=0.3)

    with pytest.raises(DeliveryError) as caught:
        robot.send(WECOM, Message("s", "b"))

    assert (caught.value.retryable, caught.value.code) == (True, "timeout")
    assert_error_clean(caught.value)
    robot.close()


def test_connection_refused_is_retryable(resolver: MappingSecretResolver) -> None:
    with socket.socket() as sock:  # a port that was free a moment ago: nothing listens
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    robot = WeComRobot(resolver, base_url=f"http://127.0.0.1:{port}", timeout=1)

    with pytest.raises(DeliveryError) as caught:
        robot.send(WECOM, Message("s", "b"))

    assert (caught.value.retryable, caught.value.code) == (True, "network")
    assert_error_clean(caught.value)
    robot.close()


def test_failure_on_a_later_part_says_which_and_that_a_retry_resends(
    wecom: WeComRobot, server: FakeHttpServer
) -> None:
    server.script = [Reply(), Reply(body={"errcode": 45009, "errmsg": "freq"})]
    message = Message("长", body=long_chinese())

    with pytest.raises(DeliveryError) as caught:
        wecom.send(WECOM, message)

    n = wecom.parts(WECOM, message)
    assert len(server.requests) == 2
    assert f"第 2/{n} 段" in caught.value.detail
    assert "前 1 段已送达" in caught.value.detail


def test_errmsg_echoing_the_key_is_redacted(wecom: WeComRobot, server: FakeHttpServer) -> None:
    server.script = [
        Reply(body={"errcode": 93000, "errmsg": f"invalid webhook url, key={WECOM_KEY}"})
    ]

    with pytest.raises(DeliveryError) as caught:
        wecom.send(WECOM, Message("s", "b"))

    assert "key=***" in caught.value.detail
    assert_error_clean(caught.value)


def test_wecom_accepts_a_full_webhook_url_as_the_secret(
    wecom: WeComRobot, server: FakeHttpServer
) -> None:
    target = Target("wecom", "secret:campus-wecom-url")

    wecom.send(target, Message("s", "b"))

    # The key is taken from the URL; the request still goes to the configured base URL.
    assert server.requests[0].query == {"key": WECOM_KEY}
    assert wecom.endpoint(target) == wecom.endpoint(WECOM)


def test_endpoint_is_stable_and_secret_free(wecom: WeComRobot, dingtalk: DingTalkRobot) -> None:
    key = wecom.endpoint(WECOM)

    assert re.fullmatch(r"wecom:[0-9a-f]{16}", key)
    assert key == wecom.endpoint(Target("wecom", "secret:campus-wecom"))
    assert dingtalk.endpoint(DING) == dingtalk.endpoint(DING_SIGNED)
    assert dingtalk.endpoint(DING).startswith("dingtalk:")
    assert_no_secret(key, dingtalk.endpoint(DING))


def test_missing_secret_is_permanent_and_names_the_reference(
    wecom: WeComRobot, server: FakeHttpServer
) -> None:
    with pytest.raises(DeliveryError) as caught:
        wecom.send(Target("wecom", "secret:nobody"), Message("s", "b"))

    assert (caught.value.retryable, caught.value.code) == (False, "secret:missing")
    assert "secret:nobody" in caught.value.detail
    assert server.requests == []


# ------------------------------------------------------------------------------ DingTalk


def test_dingtalk_unsigned_text_payload(dingtalk: DingTalkRobot, server: FakeHttpServer) -> None:
    dingtalk.send(DING, Message("提醒", "请于周五前提交自查报告", mentions=MOBILES))

    [seen] = server.requests
    assert (seen.path, seen.query) == ("/robot/send", {"access_token": DING_TOKEN})
    assert seen.json == {
        "msgtype": "text",
        "text": {"content": "请于周五前提交自查报告"},
        "at": {"atMobiles": list(MOBILES), "isAtAll": False},
    }


def test_dingtalk_signature_verifies_with_single_url_encoding(
    server: FakeHttpServer, resolver: MappingSecretResolver
) -> None:
    robot = DingTalkRobot(resolver, base_url=server.base_url, timeout=2)
    before = int(time.time() * 1000)

    robot.send(DING_SIGNED, Message("s", "b"))

    [seen] = server.requests
    query = seen.query  # parse_qs decodes exactly once, as DingTalk does
    assert set(query) == {"access_token", "timestamp", "sign"}
    assert query["access_token"] == DING_TOKEN
    assert before <= int(query["timestamp"]) <= int(time.time() * 1000)
    assert query["sign"] == expected_sign(query["timestamp"])
    # base64 always ends in "=" here (32-byte digest): encoded once it is %3D, twice %253D.
    assert "%3D" in seen.raw_query and "%25" not in seen.raw_query
    robot.close()


def test_dingtalk_each_part_is_signed_afresh(
    server: FakeHttpServer, resolver: MappingSecretResolver
) -> None:
    ticks = iter(range(1_700_000_000_000, 1_700_000_000_100))
    robot = DingTalkRobot(resolver, base_url=server.base_url, clock_ms=lambda: next(ticks))

    robot.send(DING_SIGNED, Message("s", long_chinese()))

    stamps = [r.query["timestamp"] for r in server.requests]
    assert len(set(stamps)) == len(stamps) > 1
    assert all(r.query["sign"] == expected_sign(r.query["timestamp"]) for r in server.requests)
    robot.close()


def test_dingtalk_accepts_a_full_webhook_url_with_secret(
    dingtalk: DingTalkRobot, server: FakeHttpServer
) -> None:
    dingtalk.send(Target("dingtalk", "secret:village-ding-url"), Message("s", "b"))

    query = server.requests[0].query
    assert query["access_token"] == DING_TOKEN
    assert query["sign"] == expected_sign(query["timestamp"])


def test_dingtalk_markdown_mentions_appear_in_text_and_at(
    dingtalk: DingTalkRobot, server: FakeHttpServer
) -> None:
    dingtalk.send(
        DING, Message("平安家庭", "备用", markdown="### 逾期\n- 张庄村", mentions=MOBILES)
    )

    assert server.requests[0].json == {
        "msgtype": "markdown",
        "markdown": {
            "title": "平安家庭",
            "text": "### 逾期\n- 张庄村\n\n@13800000001 @13900000002",
        },
        "at": {"atMobiles": list(MOBILES), "isAtAll": False},
    }


@pytest.mark.parametrize("use_markdown", [False, True])
def test_dingtalk_splits_10kb_chinese_at_4000_bytes(
    dingtalk: DingTalkRobot, server: FakeHttpServer, use_markdown: bool
) -> None:
    text = long_chinese()
    message = Message(
        "长消息", body=text, markdown=text if use_markdown else None, mentions=MOBILES
    )

    receipt = dingtalk.send(DING, message)

    bodies = [r.json for r in server.requests]
    assert receipt.parts == len(bodies) == 3
    if use_markdown:
        contents = [b["markdown"]["text"] for b in bodies]
        suffix = "\n\n@13800000001 @13900000002"
        assert contents[-1].endswith(suffix)
        contents[-1] = contents[-1].removesuffix(suffix)
        sizes = [utf8_len(b["markdown"]["text"]) for b in bodies]
    else:
        contents = [b["text"]["content"] for b in bodies]
        sizes = [utf8_len(c) for c in contents]
    assert all(size <= 4000 for size in sizes)
    assert strip_headers(contents) == text
    assert [b["at"]["atMobiles"] for b in bodies] == [[], [], list(MOBILES)]


@pytest.mark.parametrize(
    ("errcode", "retryable", "retry_after"),
    [(130101, True, 600.0), (310000, False, None), (300001, False, None), (400013, False, None)],
)
def test_dingtalk_errcodes_map_to_retryable_or_permanent(
    dingtalk: DingTalkRobot,
    server: FakeHttpServer,
    errcode: int,
    retryable: bool,
    retry_after: float | None,
) -> None:
    server.script = [Reply(body={"errcode": errcode, "errmsg": f"失败 {DING_TOKEN}"})]

    with pytest.raises(DeliveryError) as caught:
        dingtalk.send(DING_SIGNED, Message("s", "b"))

    err = caught.value
    assert (err.retryable, err.code, err.retry_after_s) == (
        retryable,
        f"errcode:{errcode}",
        retry_after,
    )
    assert_error_clean(err)


def test_dingtalk_http_500_is_retryable(dingtalk: DingTalkRobot, server: FakeHttpServer) -> None:
    server.script = [Reply(status=500, body=b"internal")]

    with pytest.raises(DeliveryError) as caught:
        dingtalk.send(DING_SIGNED, Message("s", "b"))

    assert (caught.value.retryable, caught.value.code) == (True, "http:500")


# --------------------------------------------------------------------------- hygiene


def test_no_secret_reaches_any_log_even_at_debug(
    server: FakeHttpServer,
    resolver: MappingSecretResolver,
    caplog: pytest.LogCaptureFixture,
) -> None:
    wecom = WeComRobot(resolver, base_url=server.base_url, timeout=2)
    ding = DingTalkRobot(resolver, base_url=server.base_url, timeout=2)
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="apprise")
    server.script = [Reply(), Reply(body={"errcode": 93000, "errmsg": "bad"}), Reply(status=500)]

    wecom.send(WECOM, Message("s", "b"))
    for robot, target in ((wecom, WECOM), (ding, DING_SIGNED)):
        with pytest.raises(DeliveryError) as caught:
            robot.send(target, Message("s", "b"))
        logging.getLogger("pingan.test").warning("投递失败：%s %r", caught.value, caught.value)
    ding.send(DING_SIGNED, Message("s", "b", mentions=MOBILES))

    assert len(server.requests) == 4
    assert_no_secret(caplog.text, *(r.getMessage() for r in caplog.records))
    # httpx would log every keyed URL at INFO; the robots keep it at WARNING.
    assert not [r for r in caplog.records if r.name.startswith(("httpx", "httpcore"))]
    assert_no_secret(repr(wecom), repr(ding), repr(WECOM), repr(DING_SIGNED))
    wecom.close()
    ding.close()

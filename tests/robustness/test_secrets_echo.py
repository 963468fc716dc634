"""A robot that echoes its key back — whole, upper-cased, URL-encoded, JSON-escaped, broken
across a line break, or so far into its reply that a 200-character cut goes through the key —
never leaves a fragment of the key in a delivery error, on the wire or in the database."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import date, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from pingan.adapters.channels.base import DeliveryError, Message, Target
from pingan.adapters.channels.dingtalk import DingTalkRobot
from pingan.adapters.channels.wecom import WeComRobot
from pingan.adapters.db.deliveries import DeliveryRow
from pingan.adapters.outbox import dispatch, expand
from pingan.adapters.redaction import MIN_FRAGMENT
from pingan.adapters.secrets import MappingSecretResolver
from pingan.core.delivery import DispatchPolicy
from tests.factories import load_seed

KEY_ALPHABET = "abcdef0123456789-ABCDEFGHJKLMNPQRSTUVWXYZ"


class _Reply:
    status = 200
    body = b'{"errcode":0}'


class _Echo(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(_Reply.status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(_Reply.body)))
        self.end_headers()
        self.wfile.write(_Reply.body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def echo_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02})
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _echo(key: str, shape: str, cut_at: int) -> str:
    if shape == "upper":
        return key.upper()
    if shape == "url":  # upper-case hex for every character, as some gateways do
        return "".join(f"%{b:02X}" for b in key.encode())
    if shape == "url-lower":
        return "".join(f"%{b:02x}" for b in key.encode())
    if shape == "split":
        cut = 1 + cut_at % (len(key) - 1)
        return key[:cut] + "\r\n" + key[cut:]
    if shape == "json":
        return "".join(f"\\u{ord(c):04x}" for c in key)
    return key


def _leaks(text: str, key: str) -> list[str]:
    """Every MIN_FRAGMENT-long piece of ``key`` that ``text`` spells, ignoring case, line
    breaks and URL-encoding."""
    plain = unquote(text).replace("\r", "").replace("\n", "").lower()
    k = key.lower()
    return [
        k[i : i + MIN_FRAGMENT]
        for i in range(len(k) - MIN_FRAGMENT + 1)
        if k[i : i + MIN_FRAGMENT] in plain
    ]


def _reply(key: str, shape: str, padding: int, status: int, cut_at: int) -> None:
    echoed = _echo(key, shape, cut_at)
    text = "x" * padding + f"invalid webhook url, key={echoed}"
    body = '{"errcode": 93000, "errmsg": "' + text + '"}' if status == 200 else text
    _Reply.status, _Reply.body = status, body.encode()


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    key=st.text(KEY_ALPHABET, min_size=12, max_size=48),
    shape=st.sampled_from(["raw", "upper", "url", "url-lower", "split", "json"]),
    padding=st.integers(0, 260),
    status=st.sampled_from([200, 500, 403]),
    cut_at=st.integers(0, 1000),
    robot=st.sampled_from(["wecom", "dingtalk"]),
)
def test_no_fragment_of_an_echoed_key_survives_in_the_error(
    echo_url: str, key: str, shape: str, padding: int, status: int, cut_at: int, robot: str
) -> None:
    _reply(key, shape, padding, status, cut_at)
    resolver = MappingSecretResolver({"secret:r": key})
    channel = (
        WeComRobot(resolver, base_url=echo_url)
        if robot == "wecom"
        else DingTalkRobot(resolver, base_url=echo_url)
    )
    try:
        with pytest.raises(DeliveryError) as caught:
            channel.send(Target(robot, "secret:r"), Message("s", "b"))  # type: ignore[arg-type]
    finally:
        channel.close()

    assert _leaks(str(caught.value), key) == []


@pytest.mark.parametrize("shape", ["raw", "upper", "split", "url"])
def test_stored_delivery_error_holds_no_fragment_of_the_key(
    engine: Engine, tmp_path: Path, echo_url: str, shape: str
) -> None:
    key = "skey-4c1f9a7be03d52e8"
    loaded = load_seed(engine, tmp_path, cells=20)
    loaded.tick(date(2017, 5, 22))
    refs = {
        r.wecom_ref
        for r in loaded.rows("SELECT wecom_ref FROM contact WHERE wecom_ref IS NOT NULL")
    }
    assert refs
    # 190 characters before the key: the old 200-character cut went through it.
    _Reply.status = 500
    _Reply.body = ("x" * 190 + "key=" + _echo(key, shape, 7)).encode()
    now = datetime(2017, 5, 22, 2, 0)
    with Session(engine) as session:
        expand(session, loaded.cid, now, channels={"wecom"})
        session.commit()
    robot = WeComRobot(MappingSecretResolver(dict.fromkeys(refs, key)), base_url=echo_url)
    try:
        dispatch(
            engine,
            loaded.handle.campaign,
            loaded.cid,
            {"wecom": robot},
            DispatchPolicy(rate_per_minute={}),
            now_fn=lambda: now,
            sleep_fn=lambda _s: None,
        )
    finally:
        robot.close()

    with Session(engine) as session:
        errors = list(session.scalars(select(DeliveryRow.last_error)))
    assert errors and all(e and "HTTP 500" in e for e in errors)
    assert [e for e in errors if _leaks(e, key)] == []
    assert quote(key) not in json.dumps(errors)

"""Issue 17, findings 7 and 8: the portal's HTTP details under a hostile client. Failures
carry the security headers, the slash redirect ignores Host, an absurd expiry is just a bad
link, ambiguous framing is refused, slow senders are cut off, and X-Forwarded-For is only
believed from a configured proxy."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import pytest
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pingan.core.links import _b64, _signature
from pingan.portal.headers import TrustedProxies
from pingan.portal.ratelimit import Rate
from pingan.portal.server import ServerLimits, bind, server_config
from tests.factories import SEED_CODE, Loaded, load_seed
from tests.portal.conftest import IN_SELF_CHECK, SECRET, Clock, Portal, make_portal, pdf

SECURITY = ("content-security-policy", "x-content-type-options", "x-frame-options")


@pytest.fixture
def seeded(engine: Any, tmp_path: Path) -> Loaded:
    return load_seed(engine, tmp_path, cells=4)


@pytest.fixture
def portal(seeded: Loaded, tmp_path: Path) -> Iterator[Portal]:
    p = make_portal(seeded, tmp_path, Clock(IN_SELF_CHECK))
    with p.client:
        yield p


@contextmanager
def served(app: FastAPI, limits: ServerLimits | None = None) -> Iterator[tuple[str, int]]:
    """The app on a loopback port, configured exactly as `pingan portal` runs it."""
    sock = bind("127.0.0.1", 0)
    port = sock.getsockname()[1]
    import uvicorn

    server = uvicorn.Server(server_config(app, "127.0.0.1", port, limits or ServerLimits()))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "server did not start"
        time.sleep(0.02)
    try:
        yield "127.0.0.1", port
    finally:
        server.should_exit = True
        thread.join(timeout=20)
        sock.close()


def raw(address: tuple[str, int], request: bytes, timeout: float = 10) -> bytes:
    with socket.create_connection(address, timeout=timeout) as s:
        s.sendall(request)
        chunks = []
        while chunk := s.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def test_a_failure_no_route_handled_is_a_chinese_500_with_the_security_headers(
    portal: Portal, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("the database went away")

    monkeypatch.setattr("pingan.portal.app.unit_items", broken)
    client = portal.client
    client_no_raise = type(client)(portal.app, raise_server_exceptions=False)
    response = client_no_raise.get(portal.url(portal.cell()))

    assert response.status_code == 500
    assert "系统繁忙" in response.text
    assert "database" not in response.text
    for header in SECURITY:
        assert header in response.headers


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(host=st.from_regex(r"[a-z0-9]{1,20}\.evil\.example(:[0-9]{1,5})?", fullmatch=True))
def test_the_trailing_slash_redirect_never_names_the_host_the_client_sent(
    portal: Portal, host: str
) -> None:
    path = portal.url(portal.cell())
    response = portal.client.get(path + "/", headers={"Host": host}, follow_redirects=False)

    assert response.status_code == 307
    location = response.headers["location"]
    assert "evil" not in location
    assert "//" not in location and ":" not in location
    assert urljoin(f"http://portal.example{path}/", location) == f"http://portal.example{path}"


def test_a_genuine_token_with_an_absurd_expiry_is_a_bad_link_not_an_error(
    portal: Portal,
) -> None:
    claims = _b64(json.dumps([SEED_CODE, portal.cell(), 1, 10**30]).encode())
    token = f"{claims}.{_signature(SECRET.encode(), claims)}"
    client = type(portal.client)(portal.app, raise_server_exceptions=False)

    response = client.get(f"/u/{token}")

    assert response.status_code == 403
    assert "链接无效" in response.text


def test_a_request_with_both_content_length_and_chunked_is_refused_with_400(
    portal: Portal,
) -> None:
    path = portal.url(portal.cell()).encode()
    body = b"5\r\nhello\r\n0\r\n\r\n"
    request = (
        b"POST " + path + b" HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\n"
        b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n" + body
    )
    with served(portal.app) as address:
        answer = raw(address, request)

    head = answer.split(b"\r\n\r\n", 1)[0].lower()
    assert head.startswith(b"http/1.1 400")
    assert b"content-security-policy" in head


def test_a_client_that_never_finishes_its_headers_is_cut_off(portal: Portal) -> None:
    limits = ServerLimits(header_timeout_s=1.0)
    with served(portal.app, limits) as address, socket.create_connection(address) as s:
        s.settimeout(10)
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")  # and then nothing more
        started = time.monotonic()
        closed = s.recv(1024) == b""
        waited = time.monotonic() - started

    assert closed
    assert waited < 5


def test_an_upload_whose_body_stalls_is_answered_408_and_leaves_no_spool(
    seeded: Loaded, tmp_path: Path
) -> None:
    p = make_portal(seeded, tmp_path, Clock(IN_SELF_CHECK), upload_idle_s=1.0)
    boundary = b"b0undary"
    head = (
        b"--" + boundary + b'\r\nContent-Disposition: form-data; name="file"; '
        b'filename="a.pdf"\r\nContent-Type: application/pdf\r\n\r\n%PDF-1.4\n'
    )
    request = (
        b"POST " + p.url(p.cell()).encode() + b" HTTP/1.1\r\nHost: x\r\n"
        b"Content-Type: multipart/form-data; boundary=" + boundary + b"\r\n"
        b"Content-Length: 100000\r\n\r\n" + head
    )
    with served(p.app) as address, socket.create_connection(address, timeout=15) as s:
        s.sendall(request)  # and then the rest never comes
        answer = b""
        while chunk := s.recv(65536):  # the server closes the connection after its answer
            answer += chunk

    assert answer.startswith(b"HTTP/1.1 408")
    assert "上传中断".encode() in answer
    assert p.spool_left() == []
    assert p.files(p.cell()) == []


def _response(s: socket.socket) -> bytes:
    """One whole HTTP response from s: its head, then as many body bytes as it declares."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        (
            int(line.split(b":", 1)[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        ),
        0,
    )
    while len(body) < length:
        chunk = s.recv(65536)
        if not chunk:
            break
        body += chunk
    return head + b"\r\n\r\n" + body


def test_the_header_deadline_spares_requests_already_received_and_kept_alive_ones(
    seeded: Loaded, tmp_path: Path
) -> None:
    p = make_portal(seeded, tmp_path, Clock(IN_SELF_CHECK))
    limits = ServerLimits(header_timeout_s=1.0, keep_alive_s=5)
    data = pdf("慢慢上传")
    boundary = b"b0undary"
    body = (
        b"--" + boundary + b'\r\nContent-Disposition: form-data; name="gate"\r\n\r\n'
        b"self-check\r\n--" + boundary + b'\r\nContent-Disposition: form-data; name="file"; '
        b'filename="a.pdf"\r\nContent-Type: application/pdf\r\n\r\n'
        + data
        + b"\r\n--"
        + boundary
        + b"--\r\n"
    )
    head = (
        b"POST " + p.url(p.cell()).encode() + b" HTTP/1.1\r\nHost: x\r\n"
        b"Content-Type: multipart/form-data; boundary=" + boundary + b"\r\n"
        b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n"
    )
    with served(p.app, limits) as address, socket.create_connection(address, timeout=15) as s:
        s.sendall(head + body[:20])
        for part in (body[20:40], body[40:]):  # 1.6 s in all, past the header deadline
            time.sleep(0.8)
            s.sendall(part)
        first = _response(s)
        time.sleep(0.5)
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")  # the same connection
        second = _response(s)

    assert first.startswith(b"HTTP/1.1 200"), first[:80]
    assert second.startswith(b"HTTP/1.1 200"), second[:80]
    assert len(p.files(p.cell())) == 1


def test_the_server_runs_with_a_connection_cap_and_keep_alive_timeout(portal: Portal) -> None:
    config = server_config(portal.app, "127.0.0.1", 0, ServerLimits())

    assert config.limit_concurrency is not None and config.limit_concurrency <= 1024
    assert config.timeout_keep_alive <= 10
    assert config.h11_max_incomplete_event_size is not None
    assert config.proxy_headers is False


def upload_from(address: tuple[str, int], path: str, forwarded: str) -> int:
    import httpx

    response = httpx.post(
        f"http://{address[0]}:{address[1]}{path}",
        headers={"X-Forwarded-For": forwarded},
        data={"gate": "self-check"},
        files={"file": ("自查报告.pdf", pdf(forwarded), "application/pdf")},
        timeout=30,
    )
    return response.status_code


def test_x_forwarded_for_from_an_unconfigured_client_is_ignored(
    seeded: Loaded, tmp_path: Path
) -> None:
    p = make_portal(seeded, tmp_path, Clock(IN_SELF_CHECK), address_rate=Rate(60, 3))
    paths = [p.url(p.cell(i)) for i in range(4)]
    with served(p.app) as address:
        codes = [upload_from(address, paths[i % 4], f"203.0.113.{i}") for i in range(12)]

    assert codes.count(429) >= 8
    addresses = {e["address"] for e in p.audit()}
    assert addresses == {"127.0.0.1"}


def test_x_forwarded_for_from_a_configured_proxy_names_the_client(
    seeded: Loaded, tmp_path: Path
) -> None:
    proxies = TrustedProxies.parse(["127.0.0.1"])
    p = make_portal(seeded, tmp_path, Clock(IN_SELF_CHECK), trusted_proxies=proxies)
    with served(p.app) as address:
        code = upload_from(address, p.url(p.cell()), "198.51.100.7, 127.0.0.1")

    assert code == 200
    assert [e["address"] for e in p.audit("portal.upload")] == ["198.51.100.7"]


@given(chain=st.lists(st.text(max_size=20), max_size=5))
def test_a_forged_or_malformed_forwarded_chain_never_names_a_non_address(
    chain: list[str],
) -> None:
    proxies = TrustedProxies.parse(["10.0.0.0/8"])
    client = proxies.client("10.1.1.1", ",".join(chain))

    assert client == "10.1.1.1" or not proxies.trusts(client)
    assert client == "10.1.1.1" or client in [c.strip() for c in chain]
    assert proxies.client("192.0.2.1", ",".join(chain)) == "192.0.2.1"


def test_the_portal_trusts_no_proxy_unless_one_is_configured() -> None:
    from pingan.portal.config import PortalConfig
    from pingan.root.settings import Settings

    default = PortalConfig.from_settings(Settings(portal_secret=SECRET))
    configured = PortalConfig.from_settings(
        Settings(portal_secret=SECRET, portal_trusted_proxies="10.0.0.1, 192.168.0.0/16")
    )

    assert default.trusted_proxies.networks == ()
    assert not default.trusted_proxies.trusts("127.0.0.1")
    assert configured.trusted_proxies.trusts("10.0.0.1")
    assert configured.trusted_proxies.trusts("192.168.7.7")
    assert not configured.trusted_proxies.trusts("127.0.0.1")


@pytest.mark.parametrize("value", ["10.0.0.1,evil", "localhost", "10.0.0.0/99"])
def test_a_bad_trusted_proxy_setting_stops_the_portal_with_a_chinese_line(value: str) -> None:
    from pingan.core.problems import InputError
    from pingan.root.settings import load_settings

    with pytest.raises(InputError) as caught:
        load_settings(portal_secret=SECRET, portal_trusted_proxies=value)

    (problem,) = caught.value.problems
    assert problem.where == "PINGAN_PORTAL_TRUSTED_PROXIES"
    assert "IP 地址或网段" in problem.message
    assert value not in problem.message

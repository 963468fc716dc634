"""EmailChannel through apprise against a real local SMTP server (aiosmtpd)."""

from __future__ import annotations

import email
import logging
import socket
import traceback
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from typing import Any
from urllib.parse import quote

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP as SMTPServer
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session

from pingan.adapters.channels.base import Attachment, DeliveryError, Message, Target
from pingan.adapters.channels.email import EmailChannel
from pingan.adapters.secrets import MappingSecretResolver

USER = "robot"
PASSWORD = "PASS-SEKRIT-9/x?y"  # "/" and "?" must be percent-encoded in the URL
SENDER = "noreply@xucheng.example.org"
RECIPIENT = "school-01@xucheng.example.org"
SMTP_REF = "secret:smtp"
XLSX = b"PK\x03\x04" + "平安校园 自查表".encode() + bytes(range(256))
BODY = (
    "张老师：\n\n贵校《平安校园创建自查报告》已逾期 3 个工作日。\n"
    "请于 2017 年 11 月 3 日前补报。\n\n徐城街道综治中心"
)


@dataclass
class Collector:
    """Collects envelopes; ``refuse`` makes it answer RCPT or DATA with a 550."""

    refuse: str | None = None  # "rcpt" | "data"
    envelopes: list[Envelope] = field(default_factory=list)

    async def handle_RCPT(
        self,
        server: SMTPServer,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        if self.refuse == "rcpt":
            return "550 5.1.1 Mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTPServer, session: Session, envelope: Envelope) -> str:
        if self.refuse == "data":
            return "550 5.7.1 Rejected by policy"
        self.envelopes.append(envelope)
        return "250 OK"


def authenticator(
    server: SMTPServer, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and (
        auth_data.login == USER.encode() and auth_data.password == PASSWORD.encode()
    )
    # handled=False: with the default (True) aiosmtpd sends no reply and the client hangs.
    return AuthResult(success=ok, handled=False)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class SmtpServer:
    handler: Collector
    port: int


def start(handler: Collector, *, auth: bool) -> Controller:
    kwargs: dict[str, Any] = (
        {"authenticator": authenticator, "auth_require_tls": False} if auth else {}
    )
    controller = Controller(handler, hostname="127.0.0.1", port=free_port(), **kwargs)
    controller.start()
    return controller


@pytest.fixture
def plain_server() -> Iterator[SmtpServer]:
    handler = Collector()
    controller = start(handler, auth=False)
    yield SmtpServer(handler, controller.port)
    controller.stop()


@pytest.fixture
def auth_server() -> Iterator[SmtpServer]:
    handler = Collector()
    controller = start(handler, auth=True)
    yield SmtpServer(handler, controller.port)
    controller.stop()


def plain_url(port: int) -> str:
    return f"mailto://127.0.0.1:{port}?from={SENDER}"


def auth_url(port: int, password: str = PASSWORD) -> str:
    return f"mailto://{USER}:{quote(password, safe='')}@127.0.0.1:{port}?from={SENDER}"


def channel_for(url: str) -> EmailChannel:
    return EmailChannel(MappingSecretResolver({SMTP_REF: url}), SMTP_REF, timeout=5)


def parsed(server: SmtpServer) -> EmailMessage:
    [envelope] = server.handler.envelopes
    assert envelope.mail_from == SENDER
    assert envelope.rcpt_tos == [RECIPIENT]
    raw = envelope.original_content
    assert raw is not None
    message = email.message_from_bytes(raw, policy=policy.default)
    assert isinstance(message, EmailMessage)
    return message


def text_body(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None and part.get_content_type() == "text/plain"
    content: str = part.get_content()
    return content.replace("\r\n", "\n")


def assert_password_absent(*texts: str) -> None:
    for text in texts:
        assert PASSWORD not in text
        assert quote(PASSWORD, safe="") not in text


TO = Target("email", RECIPIENT)

# apprise 2.0 imports imghdr for its PGP support on first use (Python 3.11 warns).
pytestmark = pytest.mark.filterwarnings("ignore:'imghdr' is deprecated:DeprecationWarning")


def test_plain_local_server_gets_subject_and_chinese_body_with_line_breaks(
    plain_server: SmtpServer,
) -> None:
    receipt = channel_for(plain_url(plain_server.port)).send(
        TO, Message(subject="【催报】平安校园自查报告逾期", body=BODY)
    )

    assert receipt.parts == 1
    message = parsed(plain_server)
    assert message["Subject"] == "【催报】平安校园自查报告逾期"
    assert text_body(message).rstrip("\n") == BODY


def test_attachment_arrives_with_its_ascii_name_and_bytes(plain_server: SmtpServer) -> None:
    sheet = Attachment(
        "self-check-2017.xlsx",
        XLSX,
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )

    channel_for(plain_url(plain_server.port)).send(TO, Message("附件", BODY, attachments=(sheet,)))

    message = parsed(plain_server)
    [part] = list(message.iter_attachments())
    assert part.get_filename() == "self-check-2017.xlsx"
    assert part.get_content_type() == sheet.mime
    assert part.get_content() == XLSX
    assert text_body(message).rstrip("\n") == BODY


def test_non_ascii_attachment_name_is_made_ascii(plain_server: SmtpServer) -> None:
    channel_for(plain_url(plain_server.port)).send(
        TO, Message("附件", BODY, attachments=(Attachment("整改报告.xlsx", XLSX),))
    )

    [part] = list(parsed(plain_server).iter_attachments())
    assert part.get_filename() == "attachment-1.xlsx"


def test_login_with_url_encoded_password(auth_server: SmtpServer) -> None:
    channel_for(auth_url(auth_server.port)).send(TO, Message("登录", BODY))

    assert text_body(parsed(auth_server)).rstrip("\n") == BODY


@pytest.mark.parametrize("refuse", ["rcpt", "data"])
def test_refusing_server_gives_retryable_error_without_password(
    refuse: str, caplog: pytest.LogCaptureFixture
) -> None:
    handler = Collector(refuse=refuse)
    controller = start(handler, auth=True)
    channel = channel_for(auth_url(controller.port))
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="apprise")
    try:
        with pytest.raises(DeliveryError) as caught:
            channel.send(TO, Message("拒收", BODY))
    finally:
        controller.stop()

    err = caught.value
    assert (err.retryable, err.code, err.detail) == (True, "smtp", "邮件发送失败")
    assert handler.envelopes == []
    assert_password_absent(
        str(err), repr(err), "".join(traceback.format_exception(err)), caplog.text
    )


def test_wrong_password_fails_without_showing_either_password(
    auth_server: SmtpServer, caplog: pytest.LogCaptureFixture
) -> None:
    wrong = "WRONG-SEKRIT-1"
    channel = channel_for(auth_url(auth_server.port, password=wrong))
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="apprise")

    with pytest.raises(DeliveryError) as caught:
        channel.send(TO, Message("s", BODY))

    assert caught.value.retryable
    for text in (str(caught.value), repr(caught.value), caplog.text):
        assert wrong not in text


def test_no_server_listening_is_retryable() -> None:
    channel = channel_for(
        f"mailto://{USER}:{quote(PASSWORD, safe='')}@127.0.0.1:{free_port()}?from={SENDER}"
    )

    with pytest.raises(DeliveryError) as caught:
        channel.send(TO, Message("s", BODY))

    assert (caught.value.retryable, caught.value.code) == (True, "smtp")
    assert_password_absent(str(caught.value))


def test_invalid_recipient_is_permanent(plain_server: SmtpServer) -> None:
    with pytest.raises(DeliveryError) as caught:
        channel_for(plain_url(plain_server.port)).send(Target("email", "张老师"), Message("s", "b"))

    assert (caught.value.retryable, caught.value.code) == (False, "address")
    assert plain_server.handler.envelopes == []


def test_missing_smtp_secret_is_permanent_and_names_the_reference() -> None:
    channel = EmailChannel(MappingSecretResolver({}), SMTP_REF)

    with pytest.raises(DeliveryError) as caught:
        channel.send(TO, Message("s", "b"))

    assert (caught.value.retryable, caught.value.code) == (False, "secret:missing")
    assert SMTP_REF in caught.value.detail


def test_non_mail_url_is_a_permanent_config_error() -> None:
    channel = channel_for(f"smtp://{USER}:{quote(PASSWORD, safe='')}@127.0.0.1:25")

    with pytest.raises(DeliveryError) as caught:
        channel.send(TO, Message("s", "b"))

    assert (caught.value.retryable, caught.value.code) == (False, "config")
    assert_password_absent(str(caught.value))

"""Email on smtplib against a real local SMTP server (aiosmtpd) on 127.0.0.1."""

from __future__ import annotations

import email
import re
import traceback
from email import policy
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import quote

import pytest

from pingan.adapters.channels.base import Attachment, DeliveryError, Message, Target
from pingan.adapters.channels.email import EmailChannel
from pingan.adapters.channels.smtp_settings import SmtpSettings
from pingan.adapters.secrets import MappingSecretResolver
from tests.channels.hostile import HOSTILE_UNIT
from tests.channels.standins.smtp import PASSWORD, SENDER, USER, SmtpStandIn, free_port

RECIPIENT = "school-01@xucheng.example.org"
TO = Target("email", RECIPIENT)
BODY = (
    "张老师：\n\n贵校《平安校园创建自查报告》已逾期 3 个工作日。\n请于 2017 年 11 月 3 日前补报。"
)
XLSX = b"PK\x03\x04" + "平安校园 自查表".encode() + bytes(range(256))
LINK = "https://pa.example.cn/u/abc123"


def typed(server: SmtpStandIn, *, login: bool = False, password: str = PASSWORD) -> EmailChannel:
    settings = SmtpSettings(
        host="127.0.0.1",
        port=server.port,
        security="none",
        from_address=SENDER,
        from_name="徐城街道综治中心",
        user=USER if login else None,
        password_ref="secret:smtp-password" if login else None,
    )
    resolver = MappingSecretResolver({"secret:smtp-password": password})
    return EmailChannel(resolver, settings, timeout=5)


def received(server: SmtpStandIn, index: int = 0) -> EmailMessage:
    envelope = server.envelopes[index]
    assert envelope.mail_from == SENDER
    assert envelope.rcpt_tos == [RECIPIENT]
    assert envelope.original_content is not None
    message = email.message_from_bytes(envelope.original_content, policy=policy.default)
    assert isinstance(message, EmailMessage)
    return message


def text_of(message: EmailMessage, kind: str = "plain") -> str:
    part = message.get_body(preferencelist=(kind,))
    assert part is not None
    content: str = part.get_content()
    return content.replace("\r\n", "\n")


def test_subject_sender_name_and_chinese_body_arrive_intact(smtp_server: SmtpStandIn) -> None:
    typed(smtp_server).send(TO, Message("【催报】平安校园自查报告逾期", BODY))

    message = received(smtp_server)
    assert message["Subject"] == "【催报】平安校园自查报告逾期"
    assert message["From"].addresses[0].display_name == "徐城街道综治中心"
    assert text_of(message).rstrip("\n") == BODY


def test_a_chinese_attachment_name_is_kept_rfc2231(smtp_server: SmtpStandIn) -> None:
    sheet = Attachment("整改报告（第1版）.xlsx", XLSX, "application/vnd.ms-excel")
    typed(smtp_server).send(TO, Message("附件", BODY, attachments=(sheet,)))

    raw = smtp_server.envelopes[0].original_content or b""
    assert re.search(rb"filename\*(0\*)?=utf-8''", raw)  # RFC 2231, maybe continued
    [part] = list(received(smtp_server).iter_attachments())
    assert part.get_filename() == "整改报告（第1版）.xlsx"
    assert part.get_content() == XLSX
    assert part.get_content_type() == "application/vnd.ms-excel"


def test_one_connection_serves_a_batch_until_released(smtp_server: SmtpStandIn) -> None:
    channel = typed(smtp_server)
    for n in range(5):
        channel.send(TO, Message(f"第 {n} 封", BODY))
    assert (smtp_server.connections, channel.connections) == (1, 1)

    channel.release()
    channel.send(TO, Message("下一轮", BODY))

    assert (smtp_server.connections, len(smtp_server.envelopes)) == (2, 6)


def test_a_connection_the_server_dropped_is_reopened_once(smtp_server: SmtpStandIn) -> None:
    channel = typed(smtp_server)
    channel.send(TO, Message("一", BODY))
    smtp_server.restart()

    channel.send(TO, Message("二", BODY))

    assert len(smtp_server.envelopes) == 2
    assert (channel.connections, smtp_server.connections) == (2, 2)


def test_a_5xx_refusal_is_permanent_and_4xx_retryable(smtp_server: SmtpStandIn) -> None:
    channel = typed(smtp_server)
    smtp_server.rcpt_replies.extend(["550 5.1.1 no such mailbox", "451 4.3.0 try later"])

    with pytest.raises(DeliveryError) as dead:
        channel.send(TO, Message("s", BODY))
    with pytest.raises(DeliveryError) as later:
        channel.send(TO, Message("s", BODY))
    channel.send(TO, Message("s", BODY))  # the connection is still good

    assert (dead.value.retryable, dead.value.code) == (False, "smtp:550")
    assert "no such mailbox" in dead.value.detail
    assert (later.value.retryable, later.value.code) == (True, "smtp:451")
    assert len(smtp_server.envelopes) == 1 and channel.connections == 1


def test_login_with_a_password_reference(smtp_auth_server: SmtpStandIn) -> None:
    typed(smtp_auth_server, login=True).send(TO, Message("登录", BODY))

    assert text_of(received(smtp_auth_server)).rstrip("\n") == BODY


def test_a_refused_login_is_permanent_and_shows_no_password(smtp_auth_server: SmtpStandIn) -> None:
    wrong = "WRONG-SEKRIT-1"
    with pytest.raises(DeliveryError) as caught:
        typed(smtp_auth_server, login=True, password=wrong).send(TO, Message("s", BODY))

    err = caught.value
    assert (err.retryable, err.code) == (False, "smtp:535")
    for text in (str(err), repr(err), "".join(traceback.format_exception(err))):
        assert wrong not in text and PASSWORD not in text


def test_the_old_apprise_url_still_works(smtp_auth_server: SmtpStandIn) -> None:
    port = smtp_auth_server.port
    url = f"mailto://{USER}:{quote(PASSWORD, safe='')}@127.0.0.1:{port}?from={SENDER}"
    channel = EmailChannel(MappingSecretResolver({"secret:smtp": url}), "secret:smtp", timeout=5)

    channel.send(TO, Message("旧配置", BODY))

    assert text_of(received(smtp_auth_server)).rstrip("\n") == BODY


def test_no_server_listening_is_retryable() -> None:
    settings = SmtpSettings(
        host="127.0.0.1", port=free_port(), security="none", from_address=SENDER
    )
    with pytest.raises(DeliveryError) as caught:
        EmailChannel(MappingSecretResolver({}), settings, timeout=5).send(TO, Message("s", BODY))

    assert (caught.value.retryable, caught.value.code) == (True, "network")


def test_the_html_alternative_is_the_messages_own(smtp_server: SmtpStandIn) -> None:
    html = "<p>张老师：</p><p>请于 11 月 3 日前补报。</p>"
    typed(smtp_server).send(TO, Message("s", BODY, html=html))

    assert text_of(received(smtp_server), "html").strip() == html


def test_a_personal_link_gets_an_escaped_html_button(smtp_server: SmtpStandIn) -> None:
    typed(smtp_server).send(
        TO, Message("催报", f"{HOSTILE_UNIT}：\n请补报。", action_url=LINK, action_label="立即报送")
    )

    message = received(smtp_server)
    html = text_of(message, "html")
    assert f'<a href="{LINK}">立即报送</a>' in html
    assert "<a href=&quot;" not in html and '<a href="http://evil' not in html
    assert "&lt;a href=&quot;http://evil.example&quot;&gt;" in html
    assert f"立即报送：{LINK}" in text_of(message)


def test_an_invalid_recipient_is_permanent_without_connecting(smtp_server: SmtpStandIn) -> None:
    with pytest.raises(DeliveryError) as caught:
        typed(smtp_server).send(Target("email", "张老师"), Message("s", "b"))

    assert (caught.value.retryable, caught.value.code) == (False, "address")
    assert smtp_server.connections == 0


def test_a_missing_password_secret_is_permanent_and_names_the_reference(
    smtp_auth_server: SmtpStandIn,
) -> None:
    settings = SmtpSettings(
        host="127.0.0.1",
        port=smtp_auth_server.port,
        security="none",
        from_address=SENDER,
        user=USER,
        password_ref="secret:nowhere",
    )
    with pytest.raises(DeliveryError) as caught:
        EmailChannel(MappingSecretResolver({}), settings).send(TO, Message("s", "b"))

    assert (caught.value.retryable, caught.value.code) == (False, "secret:missing")
    assert "secret:nowhere" in caught.value.detail


def test_the_demo_mirror_releases_its_mail_connection_once_per_run(
    smtp_server: SmtpStandIn, tmp_path: Path
) -> None:
    from pingan.adapters.channels.file import FileChannel
    from pingan.adapters.channels.mirror import MirrorChannel
    from pingan.adapters.channels.registry import release

    mail = typed(smtp_server)
    mirror = MirrorChannel(FileChannel(tmp_path / "sent.jsonl"), mail, RECIPIENT)
    sinks = dict.fromkeys(("email", "wecom", "sms"), mirror)
    for _ in range(3):
        mirror.send(Target("wecom", "secret:x"), Message("s", BODY))
    release(sinks.values())
    mirror.send(Target("wecom", "secret:x"), Message("s", BODY))

    assert (mail.connections, smtp_server.connections, len(smtp_server.envelopes)) == (2, 2, 4)


def test_starttls_on_a_server_without_it_is_a_permanent_config_error(
    smtp_server: SmtpStandIn,
) -> None:
    settings = SmtpSettings(
        host="127.0.0.1", port=smtp_server.port, security="starttls", from_address=SENDER
    )
    with pytest.raises(DeliveryError) as caught:
        EmailChannel(MappingSecretResolver({}), settings, timeout=5).send(TO, Message("s", BODY))

    assert (caught.value.retryable, caught.value.code) == (False, "smtp:config")
    assert smtp_server.envelopes == []

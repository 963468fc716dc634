"""Pure parts of the channels: payload planning, credential parsing, mail URLs, the fake."""

from __future__ import annotations

from pathlib import Path

import pytest

from pingan.adapters.channels.base import DeliveryError, Message, Target
from pingan.adapters.channels.dingtalk import dingtalk_payloads, parse_credentials, sign
from pingan.adapters.channels.fake import RecordingChannel
from pingan.adapters.channels.registry import ALL_CHANNELS, build_channels, file_channels
from pingan.adapters.channels.smtp_settings import settings_from_url
from pingan.adapters.channels.wecom import WeComRobot, parse_key, wecom_payloads
from pingan.adapters.secrets import MappingSecretResolver


def test_wecom_plain_message_is_one_text() -> None:
    assert wecom_payloads(Message("s", "正文")) == [
        {"msgtype": "text", "text": {"content": "正文"}}
    ]


def test_wecom_markdown_mentions_follow_as_text_with_a_cut_subject() -> None:
    payloads = wecom_payloads(Message("题" * 1000, "b", markdown="# md", mentions=("13800000001",)))

    assert payloads[0] == {"msgtype": "markdown", "markdown": {"content": "# md"}}
    assert payloads[1]["text"]["mentioned_mobile_list"] == ["13800000001"]
    assert len(payloads[1]["text"]["content"].encode()) <= 2048


@pytest.mark.parametrize(
    ("resolved", "key"),
    [
        ("abc-123", "abc-123"),
        (" abc-123\n", "abc-123"),
        ("https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=abc-123", "abc-123"),
    ],
)
def test_wecom_key_from_bare_key_or_url(resolved: str, key: str) -> None:
    assert parse_key(resolved) == key


def test_wecom_url_without_key_is_a_permanent_config_error() -> None:
    with pytest.raises(DeliveryError) as caught:
        parse_key("https://qyapi.weixin.qq.com/cgi-bin/webhook/send?nokey=1")
    assert (caught.value.retryable, caught.value.code) == (False, "config")


@pytest.mark.parametrize(
    ("resolved", "expected"),
    [
        ("TOK", ("TOK", None)),
        ("TOK|SEC1", ("TOK", "SEC1")),
        ("https://oapi.dingtalk.com/robot/send?access_token=TOK", ("TOK", None)),
        ("https://oapi.dingtalk.com/robot/send?access_token=TOK|SEC1", ("TOK", "SEC1")),
    ],
)
def test_dingtalk_credentials_forms(resolved: str, expected: tuple[str, str | None]) -> None:
    assert parse_credentials(resolved) == expected


def test_dingtalk_sign_matches_the_documented_recipe() -> None:
    # Computed independently: base64(hmac_sha256(b"SECabc", b"1700000000000\nSECabc")).
    assert sign("SECabc", 1_700_000_000_000) == "jcUpW0QmtKduN03n4JqQ0PBosVjqnM8gU7fIIvsDmCM="


def test_dingtalk_text_carries_an_empty_at_until_the_last_part() -> None:
    [payload] = dingtalk_payloads(Message("s", "正文"))

    assert payload == {
        "msgtype": "text",
        "text": {"content": "正文"},
        "at": {"atMobiles": [], "isAtAll": False},
    }


@pytest.mark.parametrize(
    ("url", "host", "port", "security", "user", "password", "sender"),
    [
        ("mailto://127.0.0.1:2525?from=a@b.cn", "127.0.0.1", 2525, "none", None, None, "a@b.cn"),
        (
            "mailtos://u:p%2Fw@smtp.example.org:587?from=a@b.cn",
            "smtp.example.org",
            587,
            "starttls",
            "u",
            "p/w",
            "a@b.cn",
        ),
        (
            "mailtos://u@x.cn:pw@mail.x.cn?mode=ssl&from=n@x.cn",
            "mail.x.cn",
            None,
            "ssl",
            "u@x.cn",
            "pw",
            "n@x.cn",
        ),
        ("mailtos://bot:pw@x.cn", "x.cn", None, "starttls", "bot", "pw", "bot@x.cn"),
    ],
)
def test_old_apprise_mail_urls_become_typed_smtp_settings(
    url: str,
    host: str,
    port: int | None,
    security: str,
    user: str | None,
    password: str | None,
    sender: str,
) -> None:
    settings, secret = settings_from_url(url)

    assert (settings.host, settings.port, settings.security) == (host, port, security)
    assert (settings.user, secret, settings.from_address) == (user, password, sender)


@pytest.mark.parametrize("url", ["smtp://host", "mailto://?from=a@b.cn", "mailto://host"])
def test_what_is_not_a_usable_mail_url_is_refused(url: str) -> None:
    with pytest.raises(ValueError, match="SMTP"):
        settings_from_url(url)


def test_recording_channel_fails_the_first_n_sends_then_records() -> None:
    channel = RecordingChannel("wecom", fail=2)
    target, message = Target("wecom", "secret:x"), Message("s", "b")

    for _ in range(2):
        with pytest.raises(DeliveryError) as caught:
            channel.send(target, message)
        assert caught.value.retryable
    channel.send(target, message)

    assert len(channel.attempts) == 3
    assert channel.sent == [(target, message)]


def test_recording_channel_can_always_fail_with_a_given_error() -> None:
    error = DeliveryError("机器人 key 无效", retryable=False, code="errcode:93000")
    channel = RecordingChannel("dingtalk", fail="always", error=error)

    for _ in range(3):
        with pytest.raises(DeliveryError) as caught:
            channel.send(Target("dingtalk", "secret:x"), Message("s", "b"))
        assert caught.value == error
    assert channel.sent == []


def test_registry_builds_channels_by_name(tmp_path: Path) -> None:
    resolver = MappingSecretResolver({})

    channels = build_channels(resolver, smtp_ref="secret:smtp")
    assert sorted(channels) == ["dingtalk", "email", "webhook", "wecom"]
    assert all(channels[name].name == name for name in channels)
    assert sorted(build_channels(resolver)) == ["dingtalk", "webhook", "wecom"]

    demo = file_channels(tmp_path / "sent.jsonl")
    assert sorted(demo) == sorted(ALL_CHANNELS)
    assert {"sms", "wecom-app", "dingtalk-work"} <= set(demo)


class UnreachableStore:
    """A remote secret store that is down (e.g. the Prefect API during a restart)."""

    def resolve(self, reference: str) -> str:
        raise ConnectionError("http://prefect:4200 unreachable")


def test_an_unreachable_secret_store_is_retryable_and_endpoint_still_works() -> None:
    robot = WeComRobot(UnreachableStore())
    target = Target("wecom", "secret:campus-wecom")

    with pytest.raises(DeliveryError) as caught:
        robot.send(target, Message("s", "b"))

    assert (caught.value.retryable, caught.value.code) == (True, "secret:error")
    assert "secret:campus-wecom" in caught.value.detail
    assert robot.endpoint(target).startswith("wecom:")
    robot.close()

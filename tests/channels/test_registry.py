"""Composition: the deployment's channels from settings, the campaign's personal channels per
dispatch run, and typed SMTP settings from the environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from pingan import root
from pingan.adapters.channels.email import EmailChannel
from pingan.adapters.channels.registry import personal_channels
from pingan.adapters.secrets import MappingSecretResolver
from pingan.core.campaign.channels import ChannelsConfig, SmsConfig, WeComAppConfig
from pingan.core.problems import InputError
from pingan.root.settings import Settings, load_settings

CONFIG = ChannelsConfig(
    sms=SmsConfig(
        vendor="aliyun", sign_name="徐城平安办", access_key_id="a", access_key_secret="b"
    ),
    wecom_app=WeComAppConfig(corpid="ww1", corpsecret="secret:w", agentid=1),
)


def test_personal_channels_are_those_the_campaign_configures() -> None:
    built = personal_channels(MappingSecretResolver({}), CONFIG)

    assert sorted(built) == ["sms", "wecom-app"]
    assert all(built[name].name == name for name in built)
    assert personal_channels(MappingSecretResolver({}), ChannelsConfig()) == {}


def test_delivery_adds_the_campaigns_channels_except_under_the_demo_override(
    tmp_path: Path,
) -> None:
    real = root.build(Settings(home=tmp_path), environ={}).delivery()
    demo = root.build(
        Settings(home=tmp_path, channel_override="file"),
        environ={},  # type: ignore[arg-type]
    ).delivery()

    assert {"sms", "wecom-app", "wecom", "webhook"} <= set(real.for_campaign(CONFIG))
    assert "dingtalk-work" not in real.for_campaign(CONFIG)
    assert type(demo.for_campaign(CONFIG)["sms"]).__name__ == "FileChannel"


def test_typed_smtp_settings_build_the_email_channel(tmp_path: Path) -> None:
    settings = Settings(
        home=tmp_path,
        smtp_host="smtp.example.org",
        smtp_from="zzzx@example.org",
        smtp_security="ssl",
        smtp_user="zzzx",
        smtp_password_ref="secret:smtp-password",
    )
    email = root.build(settings, environ={}).delivery().channels["email"]

    assert isinstance(email, EmailChannel)
    smtp = settings.smtp_settings()
    assert smtp is not None and (smtp.resolved_port, smtp.security) == (465, "ssl")


def test_a_host_without_a_sender_is_refused_at_start(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PINGAN_SMTP_HOST", "smtp.example.org")
    monkeypatch.delenv("PINGAN_SMTP_FROM", raising=False)

    with pytest.raises(InputError) as caught:
        load_settings()

    [problem] = caught.value.problems
    assert problem.where == "PINGAN_SMTP_HOST" and "PINGAN_SMTP_FROM" in problem.message


def test_the_demo_file_records_kind_facts_and_personal_link(tmp_path: Path) -> None:
    import json

    from pingan.adapters.channels.base import Message, Target
    from pingan.adapters.channels.file import FileChannel

    path = tmp_path / "sent.jsonl"
    message = Message(
        "催报", "正文", kind="reminder", params=(("unit", "徐城中学"),), action_url="https://x/u/1"
    )
    FileChannel(path).send(Target("sms", "13800138000"), message)

    record = json.loads(path.read_text("utf-8"))
    assert (record["channel"], record["kind"], record["params"]) == (
        "sms",
        "reminder",
        {"unit": "徐城中学"},
    )
    assert record["action_url"] == "https://x/u/1"

"""The campaign's ``channels:`` section as `pingan validate` checks it: secrets are
references (never echoed), SMS templates can be filled, links only behind a fixed prefix."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from pingan.core.campaign import load_campaign
from pingan.core.problems import InputError

REPO = Path(__file__).resolve().parents[2]
SMS: dict[str, Any] = {
    "vendor": "aliyun",
    "sign_name": "徐城平安办",
    "access_key_id": "secret:sms-key-id",
    "access_key_secret": "secret:sms-key-secret",
    "templates": {
        "reminder": {
            "code": "SMS_100001",
            "params": ["unit", "item", "due", "link"],
            "link_prefix": "https://pa.example.cn/k/",
        }
    },
}


def _campaign_with(tmp_path: Path, channels: dict[str, Any]) -> Path:
    data = yaml.safe_load((REPO / "config" / "campaigns" / "xucheng-2017.yaml").read_text("utf-8"))
    data["calendar"]["overrides_dir"] = str(REPO / "config" / "calendars")
    data["channels"] = channels
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def problems(tmp_path: Path, channels: dict[str, Any]) -> str:
    with pytest.raises(InputError) as caught:
        load_campaign(_campaign_with(tmp_path, channels))
    return "\n".join(f"{p.where} {p.message}" for p in caught.value.problems)


def test_a_complete_section_loads(tmp_path: Path) -> None:
    section = {
        "sms": SMS,
        "wecom_app": {"corpid": "ww1", "corpsecret": "secret:wecom-app", "agentid": 1000002},
        "dingtalk_work": {"appkey": "ding1", "appsecret": "env:DT_SECRET", "agent_id": 2233},
    }
    channels = load_campaign(_campaign_with(tmp_path, section)).channels

    assert channels.sms is not None and channels.sms.templates["reminder"].code == "SMS_100001"
    assert channels.wecom_app is not None and channels.wecom_app.per_minute == 30
    assert channels.dingtalk_work is not None and channels.dingtalk_work.per_day == 500


def test_a_campaign_without_the_section_has_no_personal_channels(tmp_path: Path) -> None:
    data = yaml.safe_load((REPO / "config" / "campaigns" / "xucheng-2017.yaml").read_text("utf-8"))
    assert "channels" not in data
    assert load_campaign(REPO / "config" / "campaigns" / "xucheng-2017.yaml").channels.sms is None


def test_a_key_written_into_the_yaml_is_refused_without_being_shown(tmp_path: Path) -> None:
    text = problems(tmp_path, {"sms": SMS | {"access_key_secret": "Abc123Sekrit"}})

    assert "channels.sms.access_key_secret" in text and "Abc123Sekrit" not in text


def test_a_kind_the_template_cannot_be_filled_for_is_named(tmp_path: Path) -> None:
    templates = {
        "reminder": {"code": "SMS_1", "params": ["unit", "weather"]},
        "gossip": {"code": "SMS_2"},
    }
    text = problems(tmp_path, {"sms": SMS | {"templates": templates}})

    assert "channels.sms.templates.reminder.params" in text and "weather" in text
    assert "channels.sms.templates.gossip" in text and "未知的消息类别" in text


def test_a_link_variable_needs_the_templates_fixed_prefix(tmp_path: Path) -> None:
    templates = {"reminder": {"code": "SMS_1", "params": ["unit", "link"]}}
    text = problems(tmp_path, {"sms": SMS | {"templates": templates}})

    assert "channels.sms.templates.reminder.link_prefix" in text


def test_tencent_needs_its_sdk_app_id(tmp_path: Path) -> None:
    text = problems(tmp_path, {"sms": SMS | {"vendor": "tencent"}})

    assert "channels.sms.sdk_app_id" in text


def test_a_link_prefix_that_is_not_the_short_link_route_is_reported(tmp_path: Path) -> None:
    template = {**SMS["templates"]["reminder"], "link_prefix": "https://pa.example.cn/u/"}
    text = problems(tmp_path, {"sms": {**SMS, "templates": {"reminder": template}}})
    assert "link_prefix" in text and "/k/" in text

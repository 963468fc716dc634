"""`pingan channels [--config] [--json]`: every channel, its limits and readiness; a channel
that is not ready says what is missing, and no secret value is ever printed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from pingan import root

REPO = Path(__file__).resolve().parents[2]
runner = CliRunner()
ALL = ["sms", "wecom-app", "dingtalk-work", "email", "wecom", "dingtalk", "webhook", "file"]


def run(*args: str) -> Any:
    from pingan.cli.app import app

    return runner.invoke(app, list(args))


@pytest.fixture
def campaign(tmp_path: Path) -> Path:
    data = yaml.safe_load((REPO / "config" / "campaigns" / "xucheng-2017.yaml").read_text("utf-8"))
    data["calendar"]["overrides_dir"] = str(REPO / "config" / "calendars")
    data["channels"] = {
        "sms": {
            "vendor": "tencent",
            "sign_name": "徐城平安办",
            "access_key_id": "secret:sms-id",
            "access_key_secret": "secret:sms-key",
            "sdk_app_id": "1400000001",
            "templates": {"reminder": {"code": "123", "params": ["unit"]}},
        },
        "wecom_app": {"corpid": "ww1", "corpsecret": "secret:wecom-app", "agentid": 1000002},
    }
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PINGAN_HOME", str(tmp_path / "home"))
    for name in ("PINGAN_SMTP_REF", "PINGAN_SMTP_HOST", "PINGAN_CHANNEL_OVERRIDE"):
        monkeypatch.delenv(name, raising=False)
    root.reset()


def test_json_lists_every_channel_in_order() -> None:
    result = run("channels", "--json")

    assert result.exit_code == 0, result.output
    assert [row["channel"] for row in json.loads(result.output)] == ALL


def test_ready_and_missing_are_named_without_secret_values(
    campaign: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PINGAN_SECRET_SMS_ID", "AKID-VALUE-1")
    monkeypatch.setenv("PINGAN_SECRET_SMS_KEY", "SMS-SEKRIT-VALUE")
    monkeypatch.setenv("PINGAN_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("PINGAN_SMTP_FROM", "noreply@example.org")
    monkeypatch.setenv("PINGAN_SMTP_USER", "robot")
    monkeypatch.setenv("PINGAN_SMTP_PASSWORD_REF", "secret:smtp-password")
    root.reset()

    result = run("channels", "--config", str(campaign), "--json")

    assert result.exit_code == 0, result.output
    rows = {row["channel"]: row for row in json.loads(result.output)}
    assert (
        rows["sms"]["ready"]
        and rows["sms"]["limits_zh"] == "每个手机号每分钟 1 条，每小时 5 条，每天 10 条"
    )
    assert not rows["wecom-app"]["ready"] and rows["wecom-app"]["configured"]
    assert "PINGAN_SECRET_WECOM_APP" in rows["wecom-app"]["missing"][0]
    assert not rows["email"]["ready"]
    assert "secret:smtp-password" in rows["email"]["missing"][0]
    assert not rows["dingtalk-work"]["configured"]
    assert "SEKRIT" not in result.output and "AKID-VALUE" not in result.output


def test_the_table_names_states_in_chinese(campaign: Path) -> None:
    result = run("channels", "--config", str(campaign))

    assert result.exit_code == 0, result.output
    assert "就绪" in result.output and "未就绪" in result.output and "未配置" in result.output
    assert "钉钉工作通知" in result.output


def test_a_bad_config_path_is_one_chinese_line(tmp_path: Path) -> None:
    result = run("channels", "--config", str(tmp_path / "nowhere.yaml"))

    assert result.exit_code == 2
    assert "Traceback" not in result.output

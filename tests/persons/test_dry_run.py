"""`pingan tick --dry-run` shows, under each message, every person and group it would reach
and on which channel — the same expansion a dispatch runs, rolled back."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine
from typer.testing import CliRunner

from pingan.cli.app import app
from tests.factories import SEED_CODE, load_seed
from tests.persons.conftest import persons_roster


def test_a_dry_run_names_each_person_and_channel_and_writes_nothing(
    db_url: str, engine: Engine, tmp_path: Path
) -> None:
    db = load_seed(engine, tmp_path, roster=persons_roster(tmp_path))
    result = CliRunner().invoke(
        app,
        ["tick", SEED_CODE, "--as-of", "2017-05-22", "--dry-run", "--db", db_url],
        env={"COLUMNS": "250"},
    )
    assert result.exit_code == 0, result.output
    out = result.stdout
    for line in (
        "发送给：袁秀飞（负责人） · 企业微信应用消息 zhang.san",
        "发送给：李四（联络员） · 短信 19911112222",
        "发送给：王五 · 邮件 wangwu@example.com",
        "发送给：群发 · 企业微信群机器人 secret:first-group",
        "发送给：崔志 · 钉钉工作通知 ding-007",
    ):
        assert line in out
    assert db.count("delivery") == 0 and db.count("notification") == 0

"""`pingan dispatch`, `pingan outbox` and per-campaign template overrides from the CLI."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from pingan import root
from pingan.core.campaign import load_campaign
from pingan.services.synth import write_roster

CODE = "xucheng-2017"
runner = CliRunner()


def run(*args: str) -> object:
    from pingan.cli.app import app

    return runner.invoke(app, list(args))


@pytest.fixture
def planned(db_url: str, seed_config: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """Seed campaign loaded and ticked to 2017-05-22; every channel writes to a file."""
    roster = tmp_path / "roster.csv"
    write_roster(load_campaign(seed_config), 20, 2, roster)
    monkeypatch.setenv("PINGAN_CHANNEL_OVERRIDE", "file")
    monkeypatch.setenv("PINGAN_OUTBOX_FILE", str(tmp_path / "messages.jsonl"))
    root.reset()
    for args in (
        ("load", str(seed_config), "--roster", str(roster), "--db", db_url),
        ("tick", CODE, "--as-of", "2017-05-22", "--no-dispatch", "--db", db_url),
    ):
        result = run(*args)
        assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    yield db_url
    root.reset()


def test_dispatch_sends_every_queued_message_to_the_configured_channel(
    planned: str, tmp_path: Path
) -> None:
    result = run("dispatch", CODE, "--ignore-quiet-hours", "--db", planned)
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    assert "发送成功" in result.output  # type: ignore[attr-defined]
    lines = (tmp_path / "messages.jsonl").read_text(encoding="utf-8").splitlines()
    assert lines and all("【徐城街道平安细胞创建】" in json.loads(x)["subject"] for x in lines)


@pytest.mark.parametrize(
    ("local_now", "sends"),
    [
        ("2017-05-28 10:00", False),  # Sunday, Dragon Boat Festival holiday
        ("2017-05-27 10:00", True),  # Saturday, but a 调休 make-up working day
        ("2017-05-22 21:30", False),  # a Monday, in the 20:00–08:00 quiet hours
        ("2017-05-22 10:00", True),  # a Monday morning
    ],
)
def test_quiet_hours_and_non_working_days_hold_messages_back(
    planned: str, local_now: str, sends: bool
) -> None:
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    from pingan.adapters.db.session import make_engine
    from pingan.services.dispatch import run_dispatch
    from pingan.services.tick import open_campaign

    moment = datetime.strptime(local_now, "%Y-%m-%d %H:%M").replace(
        tzinfo=ZoneInfo("Asia/Shanghai")
    )
    naive_utc = moment.astimezone(UTC).replace(tzinfo=None)
    engine = make_engine(planned)
    c = root.container()
    handle = open_campaign(engine, CODE)
    report = run_dispatch(engine, handle, c.delivery(), c.settings, now_fn=lambda: naive_utc)
    engine.dispose()
    assert (report.sent > 0) is sends
    if not sends:
        assert report.quiet_until is not None and report.deferred > 0


def test_outbox_lists_deliveries_with_counts_as_json(planned: str) -> None:
    run("dispatch", CODE, "--ignore-quiet-hours", "--db", planned)
    result = run("outbox", CODE, "--json", "--db", planned)
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    data = json.loads(result.output)  # type: ignore[attr-defined]
    assert data["counts"]["sent"] == len(data["entries"]) > 0
    assert {e["state"] for e in data["entries"]} == {"sent"}


def test_outbox_filters_by_state_and_rejects_an_unknown_one(planned: str) -> None:
    assert run("outbox", CODE, "--state", "queued", "--db", planned).exit_code == 0  # type: ignore[attr-defined]
    bad = run("outbox", CODE, "--state", "lost", "--db", planned)
    assert bad.exit_code == 2 and "未知状态" in bad.output  # type: ignore[attr-defined]


def test_outbox_retry_needs_ids_or_dead_and_requeues_dead_ones(planned: str) -> None:
    missing = run("outbox", "retry", CODE, "--db", planned)
    assert missing.exit_code == 2 and "--dead" in missing.output  # type: ignore[attr-defined]
    ok = run("outbox", "retry", CODE, "--dead", "--db", planned)
    assert ok.exit_code == 0 and "已重新排队" in ok.output  # type: ignore[attr-defined]


def test_a_campaign_template_override_changes_the_wording(
    db_url: str, seed_config: Path, tmp_path: Path
) -> None:
    campaigns = tmp_path / "campaigns"
    campaigns.mkdir()
    shutil.copytree(seed_config.parent.parent / "calendars", tmp_path / "calendars")
    (tmp_path / "my-templates").mkdir()
    (tmp_path / "my-templates" / "escalation.txt.j2").write_text(
        "【特别督办】{{ gate.name }}\n{{ unit.name }}：请于今日内报送。\n", encoding="utf-8"
    )
    data = yaml.safe_load(seed_config.read_text(encoding="utf-8"))
    data["templates_dir"] = "../my-templates"
    config = campaigns / "c.yaml"
    config.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    roster = tmp_path / "roster.csv"
    write_roster(load_campaign(config), 10, 2, roster)
    assert run("load", str(config), "--roster", str(roster), "--db", db_url).exit_code == 0  # type: ignore[attr-defined]
    result = run("tick", CODE, "--as-of", "2017-05-22", "--dry-run", "--db", db_url)
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    assert "【特别督办】" in result.output  # type: ignore[attr-defined]


def test_a_missing_template_directory_is_a_validation_problem(
    seed_config: Path, tmp_path: Path
) -> None:
    data = yaml.safe_load(seed_config.read_text(encoding="utf-8"))
    data["templates_dir"] = "../nowhere"
    data["calendar"]["overrides_dir"] = str(seed_config.parent.parent / "calendars")
    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    result = run("validate", str(config))
    assert result.exit_code == 2 and "templates_dir" in result.output  # type: ignore[attr-defined]

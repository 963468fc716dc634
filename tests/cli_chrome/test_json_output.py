"""`--json` on the commands that report something (one style: two-space indent, UTF-8),
`dispatch`'s exit code when nothing went out, and Chinese words in place of codes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from pingan import root
from pingan.adapters.db.session import make_engine
from pingan.core.campaign import load_campaign
from pingan.services.synth import write_roster
from tests.awarding_helpers import cells_by_domain, score_cells
from tests.factories import SEED_CODE, SEED_CONFIG, load_seed

runner = CliRunner()


def run(*args: str) -> Any:
    from pingan.cli.app import app

    return runner.invoke(app, list(args))


def _json(result: Any) -> Any:
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(('{\n  "', "[\n  ")), result.stdout[:80]  # one indent style
    return json.loads(result.stdout)


@pytest.fixture
def loaded(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The seed campaign and a 12-cell roster, ticked to 2017-05-22 without dispatching (the
    tick's own dispatch would empty the outbox outside quiet hours); every channel a file."""
    roster = tmp_path / "roster.csv"
    write_roster(load_campaign(SEED_CONFIG), 12, 2, roster)
    monkeypatch.setenv("PINGAN_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("PINGAN_CHANNEL_OVERRIDE", "file")
    monkeypatch.setenv("PINGAN_OUTBOX_FILE", str(tmp_path / "messages.jsonl"))
    root.reset()
    data = _json(run("load", str(SEED_CONFIG), "--roster", str(roster), "--json", "--db", db_url))
    assert data["campaign"] == SEED_CODE and data["roster"]["added"] > 0
    assert data["obligations_created"] > 0
    ticked = run("tick", SEED_CODE, "--as-of", "2017-05-22", "--no-dispatch", "--db", db_url)
    assert ticked.exit_code == 0
    yield db_url
    root.reset()


def test_validate_json_keeps_gate_names_whole() -> None:
    data = _json(run("validate", str(SEED_CONFIG), "--json"))
    long_names = [g["name"] for g in data["gates"] if len(g["name"]) > 12]
    assert long_names
    text = run("validate", str(SEED_CONFIG)).stdout
    assert all(name in text for name in long_names)
    assert [e["notify"] for e in data["escalation"]] == ["contact", "lead", "coordinator"]


def test_validate_words_the_ladder_and_calendar_in_chinese() -> None:
    text = run("validate", str(SEED_CONFIG)).stdout
    assert "逾期 1 个工作日告知责任单位" in text and "法定节假日及调休" in text
    assert not any(code in text for code in ("contact", "lead", "coordinator", "工作日历 cn"))


def test_dispatch_json_reports_what_was_sent(loaded: str) -> None:
    data = _json(run("dispatch", SEED_CODE, "--ignore-quiet-hours", "--json", "--db", loaded))
    assert data["sent"] > 0 and data["nothing_sent"] is False


def test_dispatch_exits_1_when_nothing_could_be_sent(
    loaded: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PINGAN_OUTBOX_FILE", str(tmp_path))  # a folder: every write fails
    root.reset()
    result = run("dispatch", SEED_CODE, "--ignore-quiet-hours", "--db", loaded)
    assert result.exit_code == 1, result.output
    assert "没有一条通知发送成功" in result.stderr


def test_outbox_table_shows_kinds_channels_and_states_in_chinese(
    loaded: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pingan.cli.common import out

    monkeypatch.setattr(out, "size", (200, 50))  # no cell cut short
    run("dispatch", SEED_CODE, "--ignore-quiet-hours", "--db", loaded)
    text = run("outbox", SEED_CODE, "--db", loaded).stdout
    assert "逾期督办" in text and "已送达" in text and "文件（演示）" in text  # 05-15 is past
    assert not any(code in text for code in ("escalation", "digest", "queued", "sent", "file"))


def test_report_json_names_its_files(loaded: str, tmp_path: Path) -> None:
    data = _json(
        run(
            "report",
            SEED_CODE,
            "--as-of",
            "2017-05-22",
            "--out",
            str(tmp_path / "r"),
            "--json",
            "--db",
            loaded,
        )
    )
    assert Path(data["html"]).is_file() and Path(data["xlsx"]).is_file()
    assert data["bulletin"]["planned"] > 0


def test_award_json_counts_the_awards_and_names_the_documents(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PINGAN_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("PINGAN_AWARD_SECRET", "cli-json-key")
    root.reset()
    engine = make_engine(db_url)
    seeded = load_seed(engine, tmp_path, cells=20)
    by = cells_by_domain(engine, seeded.handle)
    score_cells(engine, seeded.handle, {by["campus"][0]: "pass"})
    engine.dispose()
    signed = run(
        "acceptance", "signoff", SEED_CODE, "--approver", "王主任", "--approve", "--db", db_url
    )
    assert signed.exit_code == 0, signed.output
    data = _json(run("award", SEED_CODE, "--as-of", "2017-11-20", "--json", "--db", db_url))
    assert data["awarded"] == data["documents"]["certificates"] == 1
    assert Path(data["documents"]["public_list_pdf"]).is_file()
    root.reset()

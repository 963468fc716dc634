"""Commands that read (and every command but ``load``, ``db upgrade`` and ``portal``) never
create a database or its folders: a mistyped ``--db`` ends with one Chinese line, exit code 2
and no traceback, and leaves the disk as it was."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from pingan.cli.app import app
from tests.factories import SEED_CODE

COMMANDS = [
    ["status", SEED_CODE],
    ["status", SEED_CODE, "--json"],
    ["units", SEED_CODE],
    ["outbox", SEED_CODE],
    ["awards", SEED_CODE],
    ["verify", SEED_CODE, "徐城平安校园〔2017〕第001号", "ABCDEFGH", "--name", "某单位"],
    ["acceptance", "results", SEED_CODE],
    ["links", SEED_CODE],
    ["tick", SEED_CODE, "--dry-run"],
    ["report", SEED_CODE],
]


@pytest.mark.parametrize("args", COMMANDS, ids=lambda a: "-".join(a[:2]))
def test_a_missing_sqlite_database_is_reported_not_created(tmp_path: Path, args: list[str]) -> None:
    missing = tmp_path / "nonexistent" / "deeper" / "pingan.db"

    result = CliRunner().invoke(
        app, [*args, "--db", f"sqlite:///{missing}"], env={"COLUMNS": "250"}
    )

    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert "数据库文件" in result.output and "不存在" in result.output
    assert not (tmp_path / "nonexistent").exists()
    assert list(tmp_path.iterdir()) == []

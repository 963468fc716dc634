"""The command line's rough edges: a report into a place it cannot write, a portal whose
port is taken, a lost award key. Each ends with one Chinese line and a non-zero exit code —
never a traceback, never a false "已启动", never a silently replaced key."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from click.testing import Result
from typer.testing import CliRunner

from pingan import root
from pingan.adapters.db.session import make_engine
from pingan.cli.app import app
from pingan.core.acceptance import SignOffRequest
from pingan.core.problems import InputError
from pingan.root import Settings
from pingan.services import acceptance
from pingan.services import award as awarding
from tests.awarding_helpers import cells_by_domain, score_cells
from tests.factories import ROOT, SEED_CODE, load_seed

SECRET = "s" * 40


def run(*args: str, **env: str) -> Result:
    return CliRunner().invoke(app, list(args), env={"COLUMNS": "250", **env})


@pytest.fixture
def loaded_db(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'p.db'}"
    engine = make_engine(url)
    load_seed(engine, tmp_path, cells=3)
    engine.dispose()
    return url


@pytest.mark.parametrize("where", ["under-a-file", "sysfs"])
def test_report_into_an_unwritable_place_says_so_in_one_line(
    loaded_db: str, tmp_path: Path, where: str
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    out = blocker / "reports" if where == "under-a-file" else Path("/sys/pingan-report")

    result = run(
        "report",
        SEED_CODE,
        "--as-of",
        "2017-06-01",
        "--out",
        str(out),
        "--no-bulletin",
        "--db",
        loaded_db,
    )

    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    assert str(out) in result.output
    assert any(word in result.output for word in ("无法写入", "文件操作失败"))


def test_portal_on_a_taken_port_does_not_claim_to_have_started(
    loaded_db: str, tmp_path: Path
) -> None:
    taken = socket.create_server(("127.0.0.1", 0))
    port = taken.getsockname()[1]
    env = {
        **os.environ,
        "PINGAN_PORTAL_SECRET": SECRET,
        "PINGAN_HOME": str(tmp_path / "home"),
        "PYTHONPATH": str(ROOT),
    }
    try:
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "pingan.cli.app",
                "portal",
                "--port",
                str(port),
                "--db",
                loaded_db,
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        taken.close()

    assert done.returncode == 2, done.stdout + done.stderr
    assert "已启动" not in done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    assert f"无法在 127.0.0.1:{port} 上监听（端口已被占用）" in done.stderr


def _granted_award(tmp_path: Path) -> tuple[root.Container, Path]:
    """A database holding awards signed with a key file under ``home``."""
    home = tmp_path / "home"
    c = root.build(Settings(home=home, database_url=f"sqlite:///{tmp_path / 'a.db'}"))
    loaded = load_seed(c.engine, tmp_path, cells=6)
    campus = cells_by_domain(c.engine, loaded.handle)["campus"]
    score_cells(c.engine, loaded.handle, {campus[0]: "pass"})
    request = SignOffRequest(approver="王主任", approved=True, comment="同意", exclusions={})
    acceptance.sign_off(c.engine, loaded.handle, request, actor="test", source="test")
    granted = awarding.grant(
        c.engine, loaded.handle, key=c.award_key(), as_of=date(2017, 11, 19), actor="test"
    )
    assert granted.new_award_ids
    return c, home / "award.key"


def test_a_lost_award_key_is_not_replaced_while_awards_exist(tmp_path: Path) -> None:
    c, key_file = _granted_award(tmp_path)
    key_file.unlink()

    with pytest.raises(InputError) as caught:
        c.award_key()

    assert "已拒绝自动新建" in str(caught.value.problems[0])
    assert not key_file.exists()


def test_a_new_award_key_is_announced(tmp_path: Path) -> None:
    said: list[str] = []
    c = root.build(Settings(home=tmp_path / "home", database_url=f"sqlite:///{tmp_path / 'n.db'}"))

    key = c.award_key(warn=said.append)

    assert len(key) == 64
    assert len(said) == 1 and "已新建" in said[0] and "备份" in said[0]
    c.award_key(warn=said.append)
    assert len(said) == 1  # only when it is created

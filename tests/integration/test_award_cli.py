"""`pingan acceptance results|signoff`, `pingan award`, `pingan awards`, `pingan verify`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pingan.adapters.db.session import make_engine
from tests.awarding_helpers import cells_by_domain, score_cells
from tests.factories import load_seed

CODE = "xucheng-2017"
runner = CliRunner()


def run(*args: str) -> object:
    from pingan.cli.app import app

    return runner.invoke(app, list(args))


@pytest.fixture
def scored(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, object]:
    from pingan import root

    monkeypatch.setenv("PINGAN_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("PINGAN_AWARD_SECRET", "cli-test-key")
    root.reset()
    engine = make_engine(db_url)
    loaded = load_seed(engine, tmp_path, cells=40)
    by = cells_by_domain(engine, loaded.handle)
    score_cells(engine, loaded.handle, {by["campus"][0]: "pass", by["campus"][1]: "veto"})
    engine.dispose()
    return {"db": db_url, "by": by}


def test_results_json_reports_the_vetoed_cell_and_its_reason(scored: dict[str, object]) -> None:
    r = run("acceptance", "results", CODE, "--as-of", "2017-11-18", "--json", "--db", scored["db"])  # type: ignore[arg-type]
    assert r.exit_code == 0, r.output  # type: ignore[attr-defined]
    data = json.loads(r.output)  # type: ignore[attr-defined]
    campus = next(d for d in data["domains"] if d["key"] == "campus")
    assert (campus["assessed"], campus["passed"], campus["vetoed"]) == (2, 1, 1)
    assert data["failed"][0]["reasons"][0].startswith("一票否决")


def test_award_before_signoff_is_refused_in_one_line(scored: dict[str, object]) -> None:
    r = run("award", CODE, "--db", scored["db"])  # type: ignore[arg-type]
    assert r.exit_code == 2
    assert "尚未经综治委签批" in r.output and "Traceback" not in r.output  # type: ignore[attr-defined]


def test_signoff_award_list_and_verify(scored: dict[str, object]) -> None:
    db = str(scored["db"])
    s = run("acceptance", "signoff", CODE, "--approver", "王主任", "--approve", "--db", db)
    assert s.exit_code == 0, s.output  # type: ignore[attr-defined]
    a = run("award", CODE, "--as-of", "2017-11-20", "--db", db)
    assert a.exit_code == 0, a.output  # type: ignore[attr-defined]
    assert "本次命名 1 个单位，生成证书 1 份" in a.output  # type: ignore[attr-defined]
    listed = json.loads(run("awards", CODE, "--json", "--db", db).output)  # type: ignore[attr-defined]
    [award] = listed
    name = ("--name", award["cell_name"])
    ok = run("verify", CODE, award["number"], award["verification_code"], *name, "--db", db)
    assert ok.exit_code == 0 and "证书有效" in ok.output  # type: ignore[attr-defined]
    bad = run("verify", CODE, award["number"], "ZZZZ-ZZZZ", *name, "--db", db)
    assert bad.exit_code == 1 and "伪造" in bad.output  # type: ignore[attr-defined]


def test_bad_exclusion_syntax_names_the_expected_form(scored: dict[str, object]) -> None:
    r = run(
        "acceptance",
        "signoff",
        CODE,
        "--approver",
        "王",
        "--approve",
        "--exclude",
        "S1",
        "--db",
        str(scored["db"]),
    )
    assert r.exit_code == 2 and "单位编码:理由" in r.output  # type: ignore[attr-defined]


def test_revoke_from_the_cli_needs_a_reason(scored: dict[str, object]) -> None:
    db = str(scored["db"])
    run("acceptance", "signoff", CODE, "--approver", "王主任", "--approve", "--db", db)
    run("award", CODE, "--db", db)
    r = run("award", CODE, "--revoke", scored["by"]["campus"][0], "--db", db)  # type: ignore[index]
    assert r.exit_code == 2 and "须说明理由" in r.output  # type: ignore[attr-defined]
    ok = run(
        "award",
        CODE,
        "--revoke",
        scored["by"]["campus"][0],
        "--reason",
        "发生事故",
        "--db",
        db,  # type: ignore[index]
    )
    assert ok.exit_code == 0 and "已撤销" in ok.output  # type: ignore[attr-defined]

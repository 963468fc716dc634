"""`pingan` commands end to end through typer's CliRunner, on SQLite and PostgreSQL.

User mistakes must end with exit code 2 and one Chinese line per problem, never a traceback.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest
from click.testing import Result
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from pingan.cli.app import app
from tests.factories import SEED_CONFIG, read_csv, synth_roster, write_csv

CODE = "xucheng-2017"
KPI_KEYS = {"cells", "covered", "assessed", "passed", "awarded", "coverage", "pass_rate"}
# A rich rule line of the dry run: "──── 街道教办（jdjb） ────".
RULE = re.compile(r"─ (\S+)（([^）]+)） ─")


def run(*args: str) -> Result:
    # Wide columns so rich does not wrap long Chinese lines in the middle.
    return CliRunner().invoke(app, list(args), env={"COLUMNS": "250"})


def assert_clean_exit(result: Result, code: int) -> None:
    assert result.exit_code == code, (result.output, result.exception)
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def count(engine: Engine, table: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())


@pytest.fixture
def roster(tmp_path: Path) -> Path:
    return synth_roster(tmp_path, 20)


@pytest.fixture
def loaded(db_url: str, roster: Path) -> str:
    result = run("load", str(SEED_CONFIG), "--roster", str(roster), "--db", db_url)
    assert_clean_exit(result, 0)
    return db_url


# --- validate -----------------------------------------------------------------------------


def test_validate_seed_campaign_exits_0() -> None:
    result = run("validate", str(SEED_CONFIG))
    assert_clean_exit(result, 0)
    assert "配置有效" in result.stdout


def test_validate_lists_every_assumed_value_rubrics_and_award_too() -> None:
    minimal = Path(__file__).parents[1] / "fixtures" / "campaigns" / "minimal-2026.yaml"
    result = run("validate", str(minimal))
    assert_clean_exit(result, 0)
    listed = "".join(result.stdout.split()).split("系统默认值（原文未规定）：")[1]
    for value in ("命名挂牌", "平安社区评分细则", "平安村评分细则", "命名日期"):
        assert value in listed


BROKEN = {
    "schema": (
        [
            ("due_on: 2017-10-31", "due_on: 2017-13-31"),
            ("coverage: 1.0 ", "coverage: lots "),
            ("  - {after: 3, notify: lead}", "  - {after: 3, notify: boss}"),
        ],
        ["gates[2].due_on", "targets.coverage", "escalation.ladder[1].notify"],
    ),
    "references": (
        [
            ("lead: jdjb", "lead: nobody"),
            ("participants: [cdpcs, sjsyjb, sbs]", "participants: [cdpcs, ghost]"),
        ],
        ["domains[0].lead", "domains[1].participants[1]"],
    ),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_validate_broken_yaml_exits_2_with_one_line_per_problem(tmp_path: Path, case: str) -> None:
    edits, places = BROKEN[case]
    source = SEED_CONFIG.read_text(encoding="utf-8")
    for old, new in edits:
        assert old in source
        source = source.replace(old, new, 1)
    path = tmp_path / "broken.yaml"
    path.write_text(source, encoding="utf-8")
    result = run("validate", str(path))
    assert_clean_exit(result, 2)
    lines = result.stderr.strip().splitlines()
    assert lines[-1] == f"共 {len(places)} 个问题，未写入任何数据。"
    assert len(lines) == len(places) + 1
    for line, place in zip(lines, places, strict=False):
        assert line.startswith(f"{path}: {place}: "), line


# --- load ---------------------------------------------------------------------------------


def _bad_mobile_on_row_3(roster: Path, tmp_path: Path) -> tuple[Path, str]:
    """Row 3 (header is row 1) made a cell with an impossible mobile number."""
    rows = read_csv(roster)
    header, body = rows[0], rows[1:]
    first_village = body[0][0]
    cell = next(r for r in body if r[2] == "cell" and r[4] == first_village)
    rest = [r for r in body[1:] if r is not cell]
    cell = [*cell]
    cell[header.index("mobile")] = "12345"
    return write_csv(tmp_path / "bad.csv", [header, body[0], cell, *rest]), cell[0]


def test_load_with_bad_mobile_on_row_3_exits_2_and_writes_nothing(
    db_url: str, engine: Engine, roster: Path, tmp_path: Path
) -> None:
    bad, _ = _bad_mobile_on_row_3(roster, tmp_path)
    result = run("load", str(SEED_CONFIG), "--roster", str(bad), "--db", db_url)
    assert_clean_exit(result, 2)
    problems = result.stderr.strip().splitlines()
    assert len(problems) == 2
    assert "第 3 行" in problems[0] and "手机" in problems[0]
    assert problems[-1] == "共 1 个问题，未写入任何数据。"
    assert count(engine, "campaign") == 0
    assert count(engine, "unit") == 0
    assert count(engine, "obligation") == 0


def test_load_skip_invalid_loads_every_other_row(
    db_url: str, engine: Engine, roster: Path, tmp_path: Path
) -> None:
    bad, bad_code = _bad_mobile_on_row_3(roster, tmp_path)
    result = run("load", str(SEED_CONFIG), "--roster", str(bad), "--skip-invalid", "--db", db_url)
    assert_clean_exit(result, 0)
    assert "第 3 行" in result.stderr
    assert "已跳过 1 行" in result.stderr
    with engine.connect() as conn:
        codes = set(conn.execute(text("SELECT code FROM unit WHERE kind IN ('cell', 'village')")))
    listed = {r[0] for r in read_csv(bad)[1:]}
    assert {c[0] for c in codes} == listed - {bad_code}
    assert count(engine, "campaign") == 1


# --- tick ---------------------------------------------------------------------------------


def test_tick_dry_run_prints_messages_under_recipient_headings_and_writes_nothing(
    loaded: str, engine: Engine
) -> None:
    result = run("tick", CODE, "--as-of", "2017-05-22", "--dry-run", "--db", loaded)
    assert_clean_exit(result, 0)
    out = result.stdout
    total = int(re.search(r"（试运行，未写入数据库）共 (\d+) 条通知", out)[1])  # type: ignore[index]
    assert total > 0
    assert out.count("[逾期督办] ") + out.count("[督办汇总] ") == total  # kinds in words
    headings = RULE.findall(out)
    assert headings
    assert {name for name, _ in headings} >= {"街道综治委"}
    # Every message follows a heading.
    assert out.index("─") < out.index("[逾期督办] ")
    assert "2017-05-22 巡检（试运行）" in out
    assert count(engine, "notification") == 0


def test_tick_dry_run_gives_each_recipient_one_heading(loaded: str) -> None:
    result = run("tick", CODE, "--as-of", "2017-05-22", "--dry-run", "--db", loaded)
    assert_clean_exit(result, 0)
    codes = Counter(code for _, code in RULE.findall(result.stdout))
    assert codes
    assert max(codes.values()) == 1, codes


def test_tick_reports_what_it_planned(loaded: str, engine: Engine) -> None:
    result = run("tick", CODE, "--as-of", "2017-05-22", "--db", loaded)
    assert_clean_exit(result, 0)
    with engine.connect() as conn:
        kinds = dict(
            (k, n)
            for k, n in conn.execute(text("SELECT kind, count(*) FROM notification GROUP BY kind"))
        )
    assert kinds["escalation"] > 0
    assert (
        f"2017-05-22 巡检：提醒 0 条，逾期督办 {kinds['escalation']} 条，"
        f"督办汇总 {kinds['digest']} 份" in result.stdout
    )


def test_tick_twice_for_the_same_day_adds_no_notifications(loaded: str, engine: Engine) -> None:
    assert_clean_exit(run("tick", CODE, "--as-of", "2017-05-22", "--db", loaded), 0)
    first = count(engine, "notification")
    assert first > 0
    assert_clean_exit(run("tick", CODE, "--as-of", "2017-05-22", "--db", loaded), 0)
    assert count(engine, "notification") == first


# --- status -------------------------------------------------------------------------------


def test_status_json_is_valid_json_with_the_documented_keys(loaded: str) -> None:
    result = run("status", CODE, "--json", "--as-of", "2017-06-01", "--db", loaded)
    assert_clean_exit(result, 0)
    report = json.loads(result.stdout)
    assert report["campaign"] == CODE
    assert report["as_of"] == "2017-06-01"
    assert report["targets"] == {"coverage": 1.0, "pass_rate": 0.9}
    assert set(report["overall"]) >= KPI_KEYS
    assert set(report["domains"]) == {"campus", "hospital", "family", "enterprise"}
    for d in report["domains"].values():
        assert set(d) >= KPI_KEYS
    assert report["overall"]["cells"] == 20
    assert report["obligations"]["overdue"] > 0
    assert set(report["notifications"]) >= {"queued", "sent", "dead"}


def test_status_without_json_prints_a_table(loaded: str) -> None:
    result = run("status", CODE, "--as-of", "2017-06-01", "--db", loaded)
    assert_clean_exit(result, 0)
    assert "平安校园" in result.stdout


# --- waive --------------------------------------------------------------------------------


def _plan_cell(roster: Path) -> str:
    return next(r[0] for r in read_csv(roster)[1:] if r[2] == "cell" and r[3] != "family")


def test_waive_and_reopen(loaded: str, engine: Engine, roster: Path) -> None:
    unit = _plan_cell(roster)
    common = ["--gate", "local-plan", "--unit", unit, "--actor", "tester", "--db", loaded]
    result = run("waive", CODE, *common, "--reason", "该校停办")
    assert_clean_exit(result, 0)
    assert "已豁免 1 项义务" in result.stdout
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM obligation WHERE waived")).scalar() == 1
    result = run("waive", CODE, *common, "--reason", "恢复办学", "--reopen")
    assert_clean_exit(result, 0)
    assert "已恢复 1 项义务" in result.stdout
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM obligation WHERE waived")).scalar() == 0
        actions = [
            tuple(r)
            for r in conn.execute(
                text(
                    "SELECT actor, action FROM audit_event "
                    "WHERE action LIKE 'obligation.%' ORDER BY id"
                )
            )
        ]
    assert actions == [("tester", "obligation.waive"), ("tester", "obligation.reopen")]


def test_waive_unknown_gate_and_unit_exit_2_with_one_line_each(loaded: str) -> None:
    result = run(
        "waive", CODE, "--gate", "nope", "--unit", "NOPE-1", "--reason", "x", "--db", loaded
    )
    assert_clean_exit(result, 2)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 3
    assert "事项 nope 不存在" in lines[0]
    assert "单位编码 NOPE-1 不在本创建活动中" in lines[1]
    assert lines[2] == "共 2 个问题，未写入任何数据。"


# --- units --------------------------------------------------------------------------------


def test_units_json_lists_the_roster(loaded: str, roster: Path) -> None:
    result = run("units", CODE, "--json", "--db", loaded)
    assert_clean_exit(result, 0)
    data = json.loads(result.stdout)
    assert data["campaign"] == CODE
    kinds = Counter(u["kind"] for u in data["units"])
    assert kinds["cell"] == 20
    assert kinds["coordinator"] == 1
    listed = {r[0] for r in read_csv(roster)[1:]}
    assert listed <= {u["code"] for u in data["units"]}


# --- mistakes -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "command",
    [
        ["tick", "no-such-campaign", "--as-of", "2017-05-22"],
        ["status", "no-such-campaign", "--json"],
        ["units", "no-such-campaign"],
        ["waive", "no-such-campaign", "--gate", "self-check", "--unit", "X", "--reason", "x"],
    ],
)
def test_unknown_campaign_exits_2_with_a_chinese_message(loaded: str, command: list[str]) -> None:
    result = run(*command, "--db", loaded)
    assert_clean_exit(result, 2)
    assert "数据库中没有编码为 no-such-campaign 的创建活动" in result.stderr


@pytest.mark.parametrize("command", ["tick", "status"])
def test_impossible_as_of_date_exits_2(loaded: str, command: str) -> None:
    result = run(command, CODE, "--as-of", "2017-13-01", "--db", loaded)
    assert_clean_exit(result, 2)
    assert "2017-13-01" in result.stderr
    assert "不存在" in result.stderr

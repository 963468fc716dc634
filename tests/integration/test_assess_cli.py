"""`pingan assess template` / `assess import`: scores land all or nothing, re-assessment keeps
history, and the status report counts the latest round."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import create_engine, func, select
from typer.testing import CliRunner

from pingan.adapters.db.assessments import AssessmentRow
from pingan.adapters.db.campaigns import DomainRow
from pingan.adapters.db.units import UnitRow
from pingan.core.campaign import load_campaign
from pingan.services.synth import write_roster

CODE = "xucheng-2017"
runner = CliRunner()


def run(*args: str) -> object:
    from pingan.cli.app import app

    return runner.invoke(app, list(args))


@pytest.fixture
def loaded(db_url: str, seed_config: Path, tmp_path: Path) -> str:
    roster = tmp_path / "roster.csv"
    write_roster(load_campaign(seed_config), 40, 8, roster)
    result = run("load", str(seed_config), "--roster", str(roster), "--db", db_url)
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    return db_url


def _fill(template: Path, out: Path, *, sheet: str, rows: int, points: float | None) -> list[str]:
    """Give the first `rows` cells of a sheet `points` on every criterion (None: full marks)."""
    wb = load_workbook(template)
    ws = wb[sheet]
    keys = [c.value for c in ws[3]]
    filled = []
    for r in range(4, 4 + rows):
        for col, key in enumerate(keys, start=1):
            if isinstance(key, str) and key.startswith("c:"):
                header = str(ws.cell(row=2, column=col).value)
                full = float(header.split("满分 ")[1].split("）")[0])
                ws.cell(row=r, column=col, value=full if points is None else min(points, full))
            elif key == "assessed_on":
                ws.cell(row=r, column=col, value="2017-11-15")
            elif key == "assessor":
                ws.cell(row=r, column=col, value="考核组甲")
        filled.append(str(ws.cell(row=r, column=1).value))
    wb.save(out)
    return filled


def _assessments(db_url: str) -> list[tuple[int, int, bool]]:
    engine = create_engine(db_url)
    with engine.connect() as conn:
        rows = conn.execute(
            select(AssessmentRow.unit_id, AssessmentRow.round, AssessmentRow.passed)
        ).all()
    engine.dispose()
    return [tuple(r) for r in rows]


def test_template_then_import_records_scores_and_status_counts_them(
    loaded: str, tmp_path: Path
) -> None:
    template = tmp_path / "template.xlsx"
    made = run("assess", "template", CODE, "--out", str(template), "--db", loaded)
    assert made.exit_code == 0, made.output  # type: ignore[attr-defined]
    filled = tmp_path / "filled.xlsx"
    _fill(template, filled, sheet="平安家庭", rows=5, points=None)
    imported = run("assess", "import", CODE, str(filled), "--as-of", "2017-11-20", "--db", loaded)
    assert imported.exit_code == 0, imported.output  # type: ignore[attr-defined]
    assert "已导入评分 5 个单位（达标 5" in imported.output  # type: ignore[attr-defined]
    status = run("status", CODE, "--as-of", "2017-11-20", "--json", "--db", loaded)
    family = json.loads(status.output)["domains"]["family"]  # type: ignore[attr-defined]
    assert (family["assessed"], family["passed"]) == (5, 5)


def test_an_import_with_one_bad_score_writes_nothing(loaded: str, tmp_path: Path) -> None:
    template = tmp_path / "template.xlsx"
    run("assess", "template", CODE, "--out", str(template), "--db", loaded)
    filled = tmp_path / "filled.xlsx"
    _fill(template, filled, sheet="平安家庭", rows=3, points=None)
    wb = load_workbook(filled)
    wb["平安家庭"].cell(row=5, column=4, value=999)  # far above any criterion's maximum
    wb.save(filled)
    result = run("assess", "import", CODE, str(filled), "--as-of", "2017-11-20", "--db", loaded)
    assert result.exit_code == 2  # type: ignore[attr-defined]
    assert "第 5 行" in result.output and "未写入任何数据" in result.output  # type: ignore[attr-defined]
    assert _assessments(loaded) == []


def test_a_failed_cell_can_be_reassessed_and_its_first_round_is_kept(
    loaded: str, tmp_path: Path
) -> None:
    template = tmp_path / "template.xlsx"
    run("assess", "template", CODE, "--out", str(template), "--db", loaded)
    low, full = tmp_path / "low.xlsx", tmp_path / "full.xlsx"
    _fill(template, low, sheet="平安企业", rows=1, points=1)
    _fill(template, full, sheet="平安企业", rows=1, points=None)
    first = run("assess", "import", CODE, str(low), "--as-of", "2017-11-20", "--db", loaded)
    assert "达标 0" in first.output  # type: ignore[attr-defined]
    second = run("assess", "import", CODE, str(full), "--as-of", "2017-11-20", "--db", loaded)
    assert second.exit_code == 0 and "复查 1" in second.output  # type: ignore[attr-defined]
    assert sorted((rnd, ok) for _, rnd, ok in _assessments(loaded)) == [(1, False), (2, True)]
    third = run("assess", "import", CODE, str(full), "--as-of", "2017-11-20", "--db", loaded)
    assert third.exit_code == 2 and "无需复查" in third.output  # type: ignore[attr-defined]


def test_import_outside_the_acceptance_window_is_refused(loaded: str, tmp_path: Path) -> None:
    template = tmp_path / "template.xlsx"
    run("assess", "template", CODE, "--out", str(template), "--db", loaded)
    filled = tmp_path / "filled.xlsx"
    _fill(template, filled, sheet="平安家庭", rows=1, points=None)
    # Scores dated 11-15 entered "today" 11-12 lie in the future: refused.
    result = run("assess", "import", CODE, str(filled), "--as-of", "2017-11-12", "--db", loaded)
    assert result.exit_code == 2  # type: ignore[attr-defined]
    engine = create_engine(loaded)
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(AssessmentRow)) == 0
    engine.dispose()


def test_a_template_for_one_domain_reports_that_domains_cell_count(
    loaded: str, tmp_path: Path
) -> None:
    out = str(tmp_path / "t.xlsx")
    made = run("assess", "template", CODE, "--out", out, "--domain", "family", "--db", loaded)
    assert made.exit_code == 0, made.output  # type: ignore[attr-defined]
    engine = create_engine(loaded)
    with engine.connect() as conn:
        families = conn.execute(
            select(func.count())
            .select_from(UnitRow)
            .join(DomainRow, DomainRow.id == UnitRow.domain_id)
            .where(UnitRow.kind == "cell", DomainRow.key == "family")
        ).scalar_one()
        cells = conn.execute(
            select(func.count()).select_from(UnitRow).where(UnitRow.kind == "cell")
        ).scalar_one()
    engine.dispose()
    assert 0 < families < cells
    shown = made.output.replace("\n", "")  # type: ignore[attr-defined]
    assert f"平安家庭：{families} 个在册创建单位" in shown

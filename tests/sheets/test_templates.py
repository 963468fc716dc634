"""The workbooks clerks fill: the roster template (Chinese headers, prompts, drop-downs for
类型, 领域 and 村) and the score template (总分 and 是否达标 formulas against a visible pass
mark, prompts, protected keys); and `roster synth` in Chinese."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from pingan.adapters.intake.roster import read_roster
from pingan.adapters.intake.roster.columns import LABELS
from pingan.adapters.intake.roster.template import write_roster_template
from pingan.adapters.intake.scores import read_scores, write_template
from pingan.cli.app import app
from pingan.core.campaign import Campaign, load_campaign
from pingan.core.scores import CellRef
from pingan.services.load import load
from pingan.services.roster_template import roster_template
from pingan.services.synth import write_roster

SEED = "config/campaigns/xucheng-2017.yaml"


@pytest.fixture(scope="module")
def campaign() -> Campaign:
    return load_campaign(SEED)


def validations(ws: Any) -> dict[str, Any]:
    """Data validation by the header of the column it covers."""
    headers = {c.column_letter: c.value for c in ws[1]}
    return {
        headers[str(dv.sqref).split(":")[0].rstrip("0123456789")]: dv
        for dv in ws.data_validations.dataValidation
    }


# --- roster template -----------------------------------------------------------------------


def test_roster_template_has_the_roster_headers_and_drop_downs(
    tmp_path: Path, campaign: Campaign
) -> None:
    path = write_roster_template(
        campaign, tmp_path / "名册模板.xlsx", villages=[("v01", "东村"), ("v02", "西村")]
    )

    book = openpyxl.load_workbook(path)
    ws, choices = book["名册"], book["选项"]
    assert book.sheetnames[0] == "名册"
    assert [c.value for c in ws[1]] == list(LABELS)
    dv = validations(ws)
    assert dv["类型"].type == "list" and dv["类型"].formula1 == '"创建单位,村社区,单位"'
    assert dv["领域"].formula1 == f"选项!$A$2:$A${len(campaign.domains) + 1}"
    assert [c.value for c in choices["A"][1:]][: len(campaign.domains)] == [
        d.name for d in campaign.domains
    ]
    assert dv["所属村社区"].formula1.startswith("选项!$B$2:$B$")
    assert [c.value for c in choices["B"][1:3]] == ["v01", "v02"]
    assert dv["手机"].prompt and dv["编码"].prompt


def test_roster_template_without_villages_offers_the_codes_typed_above(
    tmp_path: Path, campaign: Campaign
) -> None:
    ws = openpyxl.load_workbook(write_roster_template(campaign, tmp_path / "t.xlsx"))["名册"]

    assert validations(ws)["所属村社区"].formula1.startswith("$A$2:$A$")


def test_filled_roster_template_loads(tmp_path: Path, campaign: Campaign) -> None:
    path = write_roster_template(campaign, tmp_path / "t.xlsx")
    book = openpyxl.load_workbook(path)
    ws = book["名册"]
    ws.append(["v01", "东村", "村社区", None, None, None, "张三", "13800138000"])
    ws.append(["c01", "东村小学", "创建单位", "平安校园", "v01", "小学", "李四"])
    book.save(path)

    result = read_roster(path, campaign)

    assert result.problems == [] and result.warnings == []
    assert [(r.code, r.kind, r.domain) for r in result.rows] == [
        ("v01", "village", None),
        ("c01", "cell", "campus"),
    ]


def test_cli_roster_template_writes_the_file(tmp_path: Path) -> None:
    out = tmp_path / "名册模板.xlsx"

    result = CliRunner().invoke(
        app, ["roster", "template", SEED, "--out", str(out), "--db", f"sqlite:///{tmp_path}/无.db"]
    )

    assert result.exit_code == 0, result.output
    assert "已生成名册模板" in result.output
    assert openpyxl.load_workbook(out).sheetnames == ["名册", "选项"]


def test_synth_in_chinese_has_the_roster_headers_and_loads(
    tmp_path: Path, campaign: Campaign
) -> None:
    path = write_roster(campaign, 30, 7, tmp_path / "名册.csv", chinese=True).path

    with path.open(encoding="utf-8-sig") as f:
        rows = csv.reader(f)
        header, first = next(rows), next(rows)
    result = read_roster(path, campaign)

    assert header == list(LABELS) and first[2] == "村社区"
    assert result.problems == [] and len(result.rows) == 30 + 3


# --- score template ------------------------------------------------------------------------

CELLS = [
    CellRef("S01", "东村小学", "campus", "v01"),
    CellRef("S02", "西村小学", "campus", "v02"),
]


@pytest.fixture(scope="module")
def campus(tmp_path_factory: pytest.TempPathFactory, campaign: Campaign) -> Any:
    path = write_template(campaign, CELLS, tmp_path_factory.mktemp("t") / "评分表.xlsx")
    return openpyxl.load_workbook(path)["平安校园"]


def keys(ws: Any) -> dict[str, str]:
    return {c.value: c.column_letter for c in ws[3] if c.value}


def test_score_template_shows_the_pass_mark(campus: Any, campaign: Campaign) -> None:
    rubric = campaign.domain("campus").rubric
    headers = [c.value for c in campus[2]]

    assert f"{rubric.pass_mark:g} 分及以上为达标" in campus["A1"].value
    assert f"是否达标（{rubric.pass_mark:g} 分及以上）" in headers
    assert f"总分（满分 {rubric.total:g}）" in headers


def test_score_template_total_sums_criteria_less_capped_deductions(
    campus: Any, campaign: Campaign
) -> None:
    rubric = campaign.domain("campus").rubric
    k = keys(campus)
    total = campus[f"{k['total']}4"].value

    assert total.startswith("=IF(COUNT(") and "ROUND(MAX(0,SUM(" in total
    for c in rubric.criteria:
        assert f"{k['c:' + c.key]}4" in total
    for d in rubric.deductions:
        assert f"MIN(N({k['d:' + d.key]}4)*{d.points_each:g},{d.max_points:g})" in total
    assert campus[f"{k['total']}5"].value == total.replace("4", "5")


def test_score_template_verdict_fails_a_veto_and_compares_with_the_pass_mark(
    campus: Any, campaign: Campaign
) -> None:
    rubric = campaign.domain("campus").rubric
    k = keys(campus)
    verdict = campus[f"{k['passed']}4"].value

    assert verdict.startswith(f'=IF({k["total"]}4="","",')
    for v in rubric.vetoes:
        assert f'{k["v:" + v.key]}4="是"' in verdict
    assert f'{k["total"]}4>={rubric.pass_mark:g},"是","否"' in verdict


def test_score_template_protects_keys_and_formulas_but_not_inputs(campus: Any) -> None:
    k = keys(campus)

    assert campus.protection.sheet
    assert campus["A4"].protection.locked and campus["B4"].protection.locked
    assert campus[f"{k['total']}4"].protection.locked
    for key in ("c:responsibility", "assessor", "assessed_on", "note", "code"):
        assert campus.column_dimensions[k[key]].protection.locked is False


def test_score_template_prompts_every_input(campus: Any) -> None:
    prompted = {
        str(dv.sqref).split(":")[0].rstrip("0123456789"): dv.prompt
        for dv in campus.data_validations.dataValidation
    }

    for key, letter in keys(campus).items():
        if key.startswith(("c:", "d:", "v:")) or key in ("assessor", "assessed_on", "note"):
            assert prompted.get(letter), key


def test_filled_score_template_imports_with_its_formula_columns_unread(
    tmp_path: Path, campaign: Campaign
) -> None:
    path = write_template(campaign, CELLS, tmp_path / "评分表.xlsx")
    book = openpyxl.load_workbook(path)
    ws = book["平安校园"]
    k = keys(ws)
    for c in campaign.domain("campus").rubric.criteria:
        ws[f"{k['c:' + c.key]}4"] = c.points
    ws[f"{k['assessed_on']}4"] = date(2017, 11, 15)
    book.save(path)

    result = read_scores(
        path,
        campaign,
        {c.code: c for c in CELLS},
        today=date(2017, 11, 20),
        window=(date(2017, 11, 11), date(2017, 11, 18)),
    )

    assert result.problems == [] and result.warnings == []
    assert [r.cell for r in result.rows] == ["S01"]


def test_roster_template_of_a_loaded_campaign_offers_its_villages(
    tmp_path: Path, engine: Engine
) -> None:
    roster = write_roster(load_campaign(SEED), 20, 3, tmp_path / "名册.csv").path
    load(engine, Path(SEED), roster, actor="test")

    made = roster_template(Path(SEED), tmp_path / "模板.xlsx", engine)

    choices = openpyxl.load_workbook(made.path)["选项"]
    listed = [c.value for c in choices["B"][1:] if c.value]
    assert made.villages == len(listed) > 0
    assert all(code.startswith("SYN-V") for code in listed)

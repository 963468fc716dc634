"""Rosters and score sheets as clerks save them: extra columns such as 序号 and 备注 are
read past with a warning naming them; .xls, .ods and Excel's "Unicode 文本" load like
.xlsx and .csv, with the same row numbers and column letters."""

from __future__ import annotations

import csv
import io
from datetime import date
from pathlib import Path

import openpyxl
import pytest
from typer.testing import CliRunner

from pingan.adapters.intake.roster import read_roster
from pingan.adapters.intake.scores import read_scores, write_template
from pingan.cli.app import app
from pingan.core.campaign import Campaign, load_campaign
from pingan.core.roster import RosterResult
from pingan.core.scores import CellRef
from tests.sheets._books import (
    ROSTER_HEADER,
    SCHOOL,
    VILLAGE,
    ods_table,
    write_ods,
    write_unicode_text,
    write_xls,
)


@pytest.fixture(scope="module")
def campaign() -> Campaign:
    return load_campaign("config/campaigns/xucheng-2017.yaml")


def loaded(result: RosterResult) -> list[str]:
    assert result.problems == []
    return [row.code for row in result.rows]


def numbered(rows: list[list[object]]) -> list[list[object]]:
    """序号 first and 备注 last, as a clerk adds them."""
    return [
        ["序号", *rows[0], "备注"],
        *([i, *row, "新增" if i == 2 else ""] for i, row in enumerate(rows[1:], 1)),
    ]


ROSTER: list[list[object]] = [ROSTER_HEADER, VILLAGE, SCHOOL]


# --- unknown columns -----------------------------------------------------------------------


def test_csv_roster_with_number_and_remark_columns_loads_with_one_warning(
    tmp_path: Path, campaign: Campaign
) -> None:
    path = tmp_path / "名册.csv"
    buffer = io.StringIO()
    csv.writer(buffer).writerows(numbered(ROSTER))
    path.write_text(buffer.getvalue(), encoding="utf-8")

    result = read_roster(path, campaign)

    assert loaded(result) == ["v01", "c01"]
    (warning,) = result.warnings
    assert warning.where == "第 1 行"
    assert "'序号'（第 1 列）" in warning.message and "'备注'（第 10 列）" in warning.message


def test_xlsx_roster_with_number_remark_and_total_columns_loads(
    tmp_path: Path, campaign: Campaign
) -> None:
    path = tmp_path / "名册.xlsx"
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "名册"
    for row in numbered(ROSTER):
        sheet.append([*row, "总分" if row[0] == "序号" else 95])
    book.save(path)

    result = read_roster(path, campaign)

    assert loaded(result) == ["v01", "c01"]
    (warning,) = result.warnings
    assert warning.where == "工作表 名册 第 1 行"
    for named in ("'序号'（A 列）", "'备注'（J 列）", "'总分'（K 列）"):
        assert named in warning.message


# --- other formats -------------------------------------------------------------------------


def test_xls_roster_loads(tmp_path: Path, campaign: Campaign) -> None:
    path = write_xls(tmp_path / "名册.xls", ROSTER)

    result = read_roster(path, campaign)

    assert loaded(result) == ["v01", "c01"]
    assert result.rows[1].mobile == "13900139000"


def test_xls_mobile_typed_as_a_number_keeps_its_digits(tmp_path: Path, campaign: Campaign) -> None:
    path = write_xls(tmp_path / "名册.xls", [ROSTER_HEADER, [*VILLAGE[:7], 13800138000]])

    assert read_roster(path, campaign).rows[0].mobile == "13800138000"


def test_xls_problem_names_the_sheet_row_and_column(tmp_path: Path, campaign: Campaign) -> None:
    path = write_xls(tmp_path / "名册.xls", [ROSTER_HEADER, VILLAGE, [*SCHOOL[:7], "123"]])

    (problem,) = read_roster(path, campaign).problems

    assert problem.where == "工作表 名册 第 3 行 手机"


def test_sheet_starting_below_and_right_of_a1_keeps_excel_row_numbers(
    tmp_path: Path, campaign: Campaign
) -> None:
    rows = [ROSTER_HEADER, VILLAGE, [*SCHOOL[:7], "123"]]
    path = write_xls(tmp_path / "名册.xls", rows, start=(2, 1))

    result = read_roster(path, campaign)

    (problem,) = result.problems
    assert problem.where == "工作表 名册 第 5 行 手机"
    assert "'' " not in problem.message


def test_ods_roster_as_libreoffice_pads_it_loads(tmp_path: Path, campaign: Campaign) -> None:
    path = write_ods(tmp_path / "名册.ods", ods_table(ROSTER))

    assert loaded(read_roster(path, campaign)) == ["v01", "c01"]


def test_unicode_text_roster_loads(tmp_path: Path, campaign: Campaign) -> None:
    path = write_unicode_text(tmp_path / "名册.txt", ROSTER)

    assert loaded(read_roster(path, campaign)) == ["v01", "c01"]


def test_unicode_text_roster_problem_names_row_and_field(
    tmp_path: Path, campaign: Campaign
) -> None:
    path = write_unicode_text(tmp_path / "名册.txt", [*ROSTER, ["c02", *SCHOOL[1:7], "123"]])
    path.rename(path := path.with_suffix(".csv"))

    (problem,) = read_roster(path, campaign).problems

    assert problem.where == "第 4 行 手机"


def test_damaged_xls_is_one_problem_naming_the_format(tmp_path: Path, campaign: Campaign) -> None:
    path = tmp_path / "名册.xls"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600)

    (problem,) = read_roster(path, campaign).problems

    assert problem.where == "" and "无法打开 Excel 97-2003 文件" in problem.message


# --- score sheets --------------------------------------------------------------------------

CELLS = {
    "c01": CellRef("c01", "东村小学", "campus", "v01"),
}
WINDOW = (date(2017, 11, 11), date(2017, 11, 30))


def test_score_sheet_saved_as_xls_imports(tmp_path: Path, campaign: Campaign) -> None:
    template = write_template(campaign, list(CELLS.values()), tmp_path / "模板.xlsx")
    book = openpyxl.load_workbook(template)
    sheet = book["平安校园"]
    keys = [c.value for c in sheet[3]]
    values: dict[str, object] = {"code": "c01", "assessed_on": "2017-11-15", "assessor": "王五"}
    for key in keys:
        if isinstance(key, str) and key.startswith("c:"):
            values[key] = 1
    rows = [[c.value or "" for c in r] for r in sheet.iter_rows(max_row=3)]
    rows.append([values.get(k, "") if isinstance(k, str) else "" for k in keys])
    path = write_xls(tmp_path / "评分表.xls", rows, title="平安校园")

    result = read_scores(path, campaign, CELLS, today=date(2017, 11, 20), window=WINDOW)

    assert result.problems == []
    assert [(r.cell, r.assessor) for r in result.rows] == [("c01", "王五")]


def test_cli_load_names_the_ignored_columns_and_loads_the_roster(tmp_path: Path) -> None:
    path = write_xls(tmp_path / "名册.xls", numbered(ROSTER))

    result = CliRunner().invoke(
        app,
        [
            "load",
            "config/campaigns/xucheng-2017.yaml",
            "--roster",
            str(path),
            "--db",
            f"sqlite:///{tmp_path}/pingan.db",
        ],
    )

    assert result.exit_code == 0, result.output
    assert "新增 2" in result.output
    assert "提示：" in result.output and "'序号'（A 列）" in result.output


@pytest.mark.parametrize("name", ["名册.xls", "名册.xlsx"])
def test_workbook_saved_under_the_other_excel_extension_loads(
    tmp_path: Path, campaign: Campaign, name: str
) -> None:
    made = tmp_path / "made"
    made.mkdir()
    if name.endswith(".xls"):  # an .xlsx named .xls
        book = openpyxl.Workbook()
        sheet = book.active
        assert sheet is not None
        for row in ROSTER:
            sheet.append(row)
        book.save(made / "r.xlsx")
        source = made / "r.xlsx"
    else:  # an .xls named .xlsx
        source = write_xls(made / "r.xls", ROSTER)
    path = tmp_path / name
    path.write_bytes(source.read_bytes())

    assert loaded(read_roster(path, campaign)) == ["v01", "c01"]

"""pingan.adapters.intake.scores: the 考核验收评分表 template and its reader."""

from __future__ import annotations

import csv
import functools
import io
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pingan.adapters.intake.scores import ImportResult, read_scores, write_template
from pingan.core.campaign import Campaign, load_campaign
from pingan.core.problems import InputError, Problem
from pingan.core.scores import CellRef, ScoreRow, acceptance_window
from pingan.core.scoring import ScoreSheet

REPO = Path(__file__).resolve().parents[2]
CAMPAIGN: Campaign = load_campaign(REPO / "config" / "campaigns" / "xucheng-2017.yaml")
WINDOW = (date(2017, 11, 11), date(2017, 11, 18))
TODAY = date(2017, 11, 20)
ON = date(2017, 11, 15)


def _cells() -> dict[str, CellRef]:
    plan = {"campus": ("S", 8), "hospital": ("H", 8), "family": ("F", 8), "enterprise": ("E", 6)}
    out: dict[str, CellRef] = {}
    for domain, (letter, count) in plan.items():
        # Codes run against villages so that the village-then-code order is visible.
        for i in range(count, 0, -1):
            code = f"{letter}{i:02d}"
            out[code] = CellRef(code, f"{letter}单位{i}", domain, f"v{i % 3}")
    return out


CELLS = _cells()
CAMPUS_SHEET = "工作表 平安校园 "


def full(domain: str, **extra: Any) -> dict[str, Any]:
    """Full marks, an assessor and a date inside the window, under the machine keys."""
    values: dict[str, Any] = {
        f"c:{c.key}": c.points for c in CAMPAIGN.domain(domain).rubric.criteria
    }
    values.update({"assessor": "张三", "assessed_on": ON})
    values.update(extra)
    return values


def full_sheet(domain: str) -> ScoreSheet:
    return ScoreSheet({c.key: c.points for c in CAMPAIGN.domain(domain).rubric.criteria})


def template(tmp_path: Path, name: str = "评分表.xlsx") -> Path:
    return write_template(CAMPAIGN, list(CELLS.values()), tmp_path / name)


def row_of(ws: Any, code: str) -> int:
    for row in range(4, ws.max_row + 1):
        if ws.cell(row, 1).value == code:
            return row
    raise AssertionError(f"{code} not in sheet {ws.title}")


def key_columns(ws: Any) -> dict[str, int]:
    return {ws.cell(3, col).value: col for col in range(1, ws.max_column + 1)}


def fill(path: Path, entries: Mapping[str, Mapping[str, Any]]) -> dict[str, int]:
    """Fill each cell's template row; returns the spreadsheet row of each code."""
    book = openpyxl.load_workbook(path)
    rows: dict[str, int] = {}
    for code, values in entries.items():
        ws = book[CAMPAIGN.domain(CELLS[code].domain).name]
        rows[code] = row = row_of(ws, code)
        columns = key_columns(ws)
        for key, value in values.items():
            ws.cell(row, columns[key], value)
    book.save(path)
    return rows


def append(path: Path, sheet: str, values: Mapping[str, Any]) -> int:
    """Add a row under the template's rows, as a team adding a unit by hand would."""
    book = openpyxl.load_workbook(path)
    ws = book[sheet]
    columns = key_columns(ws)
    row = ws.max_row + 1
    for key, value in values.items():
        ws.cell(row, columns[key], value)
    book.save(path)
    return row


def read(path: Path, *, today: date = TODAY) -> ImportResult:
    return read_scores(path, CAMPAIGN, CELLS, today=today, window=WINDOW)


def only(result: ImportResult) -> Problem:
    assert result.rows == []
    assert len(result.problems) == 1, result.problems
    return result.problems[0]


def problem_at(result: ImportResult, where: str) -> Problem:
    assert result.rows == []
    matches = [p for p in result.problems if p.where == where]
    assert len(matches) == 1, result.problems
    return matches[0]


# --- template ----------------------------------------------------------------------------


def test_template_round_trip_returns_the_scores_written(tmp_path: Path) -> None:
    path = template(tmp_path)
    campus = full("campus", **{"c:responsibility": 8.5, "c:gate": "4"})
    campus.update({"d:criminal-case": 2, "v:fire": "是", "note": "围墙待修"})
    hospital = full("hospital", **{"v:epidemic": "否", "d:disturbance": "0"})
    hospital["assessed_on"] = "2017年11月18日"
    family = full("family", **{"v:gambling": "Y", "assessor": None})
    family["assessed_on"] = datetime(2017, 11, 11, 9, 30)
    rows = fill(path, {"S03": campus, "H05": hospital, "F01": family})

    result = read(path)

    assert result.problems == []
    campus_scores = {c.key: c.points for c in CAMPAIGN.domain("campus").rubric.criteria}
    campus_scores.update(responsibility=8.5, gate=4.0)
    assert result.rows == [
        ScoreRow(
            cell="S03",
            domain="campus",
            sheet=ScoreSheet(campus_scores, {"criminal-case": 2}, frozenset({"fire"})),
            assessor="张三",
            assessed_on=ON,
            note="围墙待修",
            where=f"工作表 平安校园 第 {rows['S03']} 行",
        ),
        ScoreRow(
            cell="H05",
            domain="hospital",
            sheet=full_sheet("hospital"),
            assessor="张三",
            assessed_on=date(2017, 11, 18),
            note=None,
            where=f"工作表 平安医院 第 {rows['H05']} 行",
        ),
        ScoreRow(
            cell="F01",
            domain="family",
            sheet=ScoreSheet(full_sheet("family").criteria, {}, frozenset({"gambling"})),
            assessor=None,
            assessed_on=date(2017, 11, 11),
            note=None,
            where=f"工作表 平安家庭 第 {rows['F01']} 行",
        ),
    ]


def test_template_headers_are_chinese_with_title_and_hidden_key_row(tmp_path: Path) -> None:
    ws = openpyxl.load_workbook(template(tmp_path))["平安校园"]
    rubric = CAMPAIGN.domain("campus").rubric
    headers = [c.value for c in ws[2]]
    keys = [c.value for c in ws[3]]

    assert ws["A1"].value == (
        "徐城街道平安细胞创建考核验收评分表（平安校园）　满分 100 分，80 分及以上为达标"
    )
    assert headers[:3] == ["单位编码", "单位名称", "村（社区）"]
    assert headers[3] == "校内安全防范责任体系健全（满分 10）"
    assert "发生校园刑事案件（次数，每次扣 5 分，最多 20 分）" in headers
    assert "一票否决：发生重大消防安全事故（是/否）" in headers
    assert headers[-3:] == ["考核人", "考核日期", "备注"]
    assert keys == [
        "code",
        "name",
        "village",
        *(f"c:{c.key}" for c in rubric.criteria),
        *(f"d:{d.key}" for d in rubric.deductions),
        *(f"v:{v.key}" for v in rubric.vetoes),
        "total",
        "passed",
        "assessor",
        "assessed_on",
        "note",
    ]
    assert ws.row_dimensions[3].hidden
    assert ws.freeze_panes == "D4"
    assert ws.column_dimensions["A"].width > 8


def test_template_has_one_sheet_per_domain_named_after_it(tmp_path: Path) -> None:
    book = openpyxl.load_workbook(template(tmp_path))

    assert book.sheetnames == ["平安校园", "平安医院", "平安家庭", "平安企业"]


def test_template_lists_the_domains_cells_by_village_then_code_as_text(tmp_path: Path) -> None:
    ws = openpyxl.load_workbook(template(tmp_path))["平安校园"]
    rows = [r for r in range(4, ws.max_row + 1) if ws.cell(r, 1).value is not None]
    listed = [(ws.cell(r, 3).value, ws.cell(r, 1).value) for r in rows]
    expected = sorted((c.village, c.code) for c in CELLS.values() if c.domain == "campus")

    assert listed == expected and rows == list(range(4, 4 + len(expected)))
    assert all(ws.cell(r, 1).number_format == "@" for r in rows)
    assert ws.cell(4, 2).value == CELLS[ws.cell(4, 1).value].name


def test_template_validates_scores_counts_vetoes_and_dates(tmp_path: Path) -> None:
    ws = openpyxl.load_workbook(template(tmp_path))["平安校园"]
    keys = {ws.cell(3, col).value: col for col in range(1, ws.max_column + 1)}
    by_column: dict[int, Any] = {}
    for dv in ws.data_validations.dataValidation:
        for rng in dv.sqref.ranges:
            assert (rng.min_row, rng.max_row) == (4, 31)  # the 8 campus cells and 20 spare
            by_column[rng.min_col] = dv

    score = by_column[keys["c:responsibility"]]
    assert (score.type, score.operator, score.formula1, score.formula2) == (
        "decimal",
        "between",
        "0",
        "10",
    )
    assert by_column[keys["c:safety-management"]].formula2 == "15"
    count = by_column[keys["d:criminal-case"]]
    assert (count.type, count.operator, count.formula1) == ("whole", "greaterThanOrEqual", "0")
    veto = by_column[keys["v:fire"]]
    assert (veto.type, veto.formula1) == ("list", '"是,否"')
    when = by_column[keys["assessed_on"]]
    assert (when.type, when.formula1, when.formula2) == (
        "date",
        "DATE(2017,11,11)",
        "DATE(2017,11,18)",
    )
    assert keys["code"] not in by_column
    assert "0 至 10" in score.error


def test_template_keeps_a_name_starting_with_equals_as_text(tmp_path: Path) -> None:
    cell = CellRef("S01", '=HYPERLINK("http://x")', "campus", None)
    path = write_template(CAMPAIGN, [cell], tmp_path / "t.xlsx")

    ws = openpyxl.load_workbook(path)["平安校园"]

    # Text to Excel, and still text in a CSV the team saves from it (safe_cell's apostrophe).
    assert ws["B4"].value == "'" + cell.name
    assert ws["B4"].data_type == "s"


def test_template_with_some_domains_has_only_their_sheets(tmp_path: Path) -> None:
    path = write_template(CAMPAIGN, list(CELLS.values()), tmp_path / "t.xlsx", domains=["family"])

    assert openpyxl.load_workbook(path).sheetnames == ["平安家庭"]


def test_template_rejects_an_unknown_domain(tmp_path: Path) -> None:
    with pytest.raises(InputError) as err:
        write_template(CAMPAIGN, [], tmp_path / "t.xlsx", domains=["school"])

    assert "未知领域 'school'" in err.value.problems[0].message
    assert not (tmp_path / "t.xlsx").exists()


def test_template_replaces_the_file_whole_and_leaves_no_temporary(tmp_path: Path) -> None:
    out = tmp_path / "评分表.xlsx"
    out.write_bytes(b"old")

    write_template(CAMPAIGN, list(CELLS.values()), out)

    assert [p.name for p in tmp_path.iterdir()] == ["评分表.xlsx"]
    assert openpyxl.load_workbook(out).sheetnames[0] == "平安校园"


def test_acceptance_window_is_the_acceptance_phase() -> None:
    assert acceptance_window(CAMPAIGN) == WINDOW


# --- blank rows and all-or-nothing -------------------------------------------------------


def test_untouched_template_gives_no_rows_and_no_problems(tmp_path: Path) -> None:
    assert read(template(tmp_path)) == ImportResult([], [])


def test_rows_with_only_zero_counts_and_no_vetoes_are_skipped(tmp_path: Path) -> None:
    path = template(tmp_path)
    fill(
        path,
        {
            "S01": {"d:criminal-case": 0, "v:fire": "否", "assessor": "张三", "note": "未验收"},
            "S02": full("campus"),
        },
    )

    result = read(path)

    assert result.problems == []
    assert [r.cell for r in result.rows] == ["S02"]


def test_nothing_is_returned_when_any_row_has_a_problem(tmp_path: Path) -> None:
    path = template(tmp_path)
    fill(path, {"S01": full("campus"), "H01": full("hospital"), "S02": full("campus", note=None)})
    fill(path, {"E01": full("enterprise", **{"c:labour": 11})})

    result = read(path)

    assert result.rows == []
    assert len(result.problems) == 1


# --- rejections: cells -------------------------------------------------------------------


def test_unknown_cell_code_is_reported_at_its_code(tmp_path: Path) -> None:
    path = template(tmp_path)
    row = append(path, "平安校园", {"code": "S99", **full("campus")})

    problem = problem_at(read(path), f"{CAMPUS_SHEET}第 {row} 行 单位编码")

    assert "'S99' 不在创建单位名册中" in problem.message


def test_cell_of_another_domain_is_reported(tmp_path: Path) -> None:
    path = template(tmp_path)
    row = append(path, "平安校园", {"code": "H01", **full("campus")})

    problem = problem_at(read(path), f"{CAMPUS_SHEET}第 {row} 行 单位编码")

    assert "属于平安医院，不能填入本工作表（平安校园）" in problem.message


def test_duplicate_row_names_the_first_row(tmp_path: Path) -> None:
    path = template(tmp_path)
    first = fill(path, {"S01": full("campus")})["S01"]
    second = append(path, "平安校园", {"code": "S01", **full("campus")})

    problem = problem_at(read(path), f"{CAMPUS_SHEET}第 {second} 行 单位编码")

    assert f"评分重复：工作表 平安校园 第 {first} 行已填写" in problem.message


def test_filled_row_without_a_code_is_reported(tmp_path: Path) -> None:
    path = template(tmp_path)
    row = append(path, "平安校园", full("campus"))

    assert problem_at(read(path), f"{CAMPUS_SHEET}第 {row} 行 单位编码").message == "缺少单位编码"


# --- rejections: scores ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (None, "缺少评分项 police-room（建立校园警务室）的得分"),
        ("优秀", "得分应为数字（当前值：'优秀'）"),
        ("nan", "得分应为数字"),
        (True, "得分应为数字"),
        (-1, "不能为负数"),
        ("-0.5", "不能为负数"),
        (10.5, "超过该项满分 10 分"),
        ("11", "超过该项满分 10 分"),
    ],
)
def test_bad_criterion_score_is_reported_at_its_column(
    tmp_path: Path, value: Any, message: str
) -> None:
    path = template(tmp_path)
    row = fill(path, {"S01": full("campus", **{"c:police-room": value})})["S01"]

    problem = only(read(path))

    assert problem.where == f"{CAMPUS_SHEET}第 {row} 行 建立校园警务室"
    assert message in problem.message


@pytest.mark.parametrize(
    ("value", "expected"), [(0, 0.0), (10, 10.0), ("9.5", 9.5), ("１０", 10.0), (" 7 ", 7.0)]
)
def test_criterion_score_from_zero_to_full_marks_is_accepted(
    tmp_path: Path, value: Any, expected: float
) -> None:
    path = template(tmp_path)
    fill(path, {"S01": full("campus", **{"c:police-room": value})})

    result = read(path)

    assert result.problems == []
    assert result.rows[0].sheet.criteria["police-room"] == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (1.5, "发生次数应为整数"),
        ("2.5", "发生次数应为整数"),
        (-1, "发生次数 -1 不能为负数"),
        ("两次", "发生次数应为不小于 0 的整数（当前值：'两次'）"),
    ],
)
def test_bad_deduction_count_is_reported_at_its_column(
    tmp_path: Path, value: Any, message: str
) -> None:
    path = template(tmp_path)
    row = fill(path, {"S01": full("campus", **{"d:criminal-case": value})})["S01"]

    problem = only(read(path))

    assert problem.where == f"{CAMPUS_SHEET}第 {row} 行 发生校园刑事案件"
    assert message in problem.message


def test_bad_veto_value_is_reported_at_its_column(tmp_path: Path) -> None:
    path = template(tmp_path)
    row = fill(path, {"S01": full("campus", **{"v:fire": "可能"})})["S01"]

    problem = only(read(path))

    assert problem.where == f"{CAMPUS_SHEET}第 {row} 行 一票否决：发生重大消防安全事故"
    assert "应填“是”或“否”（当前值：'可能'" in problem.message


@pytest.mark.parametrize(
    ("value", "vetoed"),
    [
        ("是", True),
        ("否", False),
        ("Y", True),
        ("n", False),
        ("1", True),
        (0, False),
        ("TRUE", True),
        ("false", False),
        (True, True),
        (None, False),
    ],
)
def test_veto_accepts_yes_and_no_spellings(tmp_path: Path, value: Any, vetoed: bool) -> None:
    path = template(tmp_path)
    fill(path, {"S01": full("campus", **{"v:fire": value})})

    result = read(path)

    assert result.problems == []
    assert ("fire" in result.rows[0].sheet.vetoes) is vetoed


# --- rejections: dates -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (None, "缺少考核日期"),
        ("下周一", "无法识别的日期 '下周一'，应为 2017-11-15、2017/11/15 或 2017年11月15日 格式"),
        ("2017-11-31", "日期 '2017-11-31' 不存在"),
        (43054, "无法识别的日期"),
        (date(2017, 11, 10), "考核日期 2017-11-10 不在考核验收期（2017-11-11 至 2017-11-18）内"),
        ("2017/11/19", "考核日期 2017-11-19 不在考核验收期（2017-11-11 至 2017-11-18）内"),
    ],
)
def test_bad_assessment_date_is_reported_at_its_column(
    tmp_path: Path, value: Any, message: str
) -> None:
    path = template(tmp_path)
    row = fill(path, {"S01": full("campus", assessed_on=value)})["S01"]

    problem = only(read(path, today=date(2017, 11, 30)))

    assert problem.where == f"{CAMPUS_SHEET}第 {row} 行 考核日期"
    assert message in problem.message


def test_assessment_date_after_today_is_reported(tmp_path: Path) -> None:
    path = template(tmp_path)
    row = fill(path, {"S01": full("campus", assessed_on=date(2017, 11, 16))})["S01"]

    problem = only(read(path, today=date(2017, 11, 15)))

    assert problem.where == f"{CAMPUS_SHEET}第 {row} 行 考核日期"
    assert "考核日期 2017-11-16 晚于今天（2017-11-15）" in problem.message


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (date(2017, 11, 11), date(2017, 11, 11)),
        (datetime(2017, 11, 18, 17, 0), date(2017, 11, 18)),
        ("2017-11-15", ON),
        ("2017/11/15", ON),
        ("2017年11月15日", ON),
        ("2017-11-15 00:00:00", ON),
    ],
)
def test_assessment_date_forms_are_accepted(tmp_path: Path, value: Any, expected: date) -> None:
    path = template(tmp_path)
    fill(path, {"S01": full("campus", assessed_on=value)})

    result = read(path)

    assert result.problems == []
    assert result.rows[0].assessed_on == expected


# --- rejections: layout ------------------------------------------------------------------


def test_sheet_named_after_no_domain_is_one_problem(tmp_path: Path) -> None:
    path = template(tmp_path)
    fill(path, {"S01": full("campus")})
    book = openpyxl.load_workbook(path)
    extra = book.create_sheet("汇总")
    extra["A1"], extra["A2"] = "单位编码", "S01"
    book.create_sheet("Sheet1")  # empty, as WPS adds it: harmless
    book.save(path)

    problem = only(read(path))

    assert problem.where == "工作表 汇总"
    assert "不是任何创建领域" in problem.message


def test_unknown_column_is_a_warning_naming_its_header(tmp_path: Path) -> None:
    path = template(tmp_path)
    book = openpyxl.load_workbook(path)
    ws = book["平安校园"]
    added = ws.cell(2, ws.max_column + 1, "自评得分")
    book.save(path)

    result = read(path)

    assert result.problems == []
    (warning,) = result.warnings
    assert warning.where == CAMPUS_SHEET.strip()
    assert f"'自评得分'（第 2 行 {added.column_letter} 列）" in warning.message


def test_missing_column_is_reported_by_name(tmp_path: Path) -> None:
    path = template(tmp_path)
    book = openpyxl.load_workbook(path)
    book["平安校园"].delete_cols(4)
    book.save(path)

    problem = only(read(path))

    assert problem.where == f"{CAMPUS_SHEET}第 2 行"
    assert "缺少列“校内安全防范责任体系健全（满分 10）”（c:responsibility）" in problem.message


def test_data_in_a_column_without_header_is_reported(tmp_path: Path) -> None:
    path = template(tmp_path)
    row = fill(path, {"S01": full("campus")})["S01"]
    book = openpyxl.load_workbook(path)
    ws = book["平安校园"]
    stray = ws.cell(row, ws.max_column + 1, 5)
    book.save(path)

    problem = only(read(path))

    assert problem.where == f"{CAMPUS_SHEET}第 {row} 行 {stray.column_letter} 列"
    assert "该列没有列名" in problem.message


def test_workbook_without_key_row_is_read_by_chinese_headers(tmp_path: Path) -> None:
    path = template(tmp_path)
    row = fill(path, {"S01": full("campus", **{"c:gate": 3})})["S01"]
    book = openpyxl.load_workbook(path)
    ws = book["平安校园"]
    ws.delete_rows(3)
    # A team that retypes a header with spaces and half-width brackets still matches.
    ws["D2"] = "校内安全防范责任体系健全 (满分10)"
    book.save(path)

    result = read(path)

    assert result.problems == []
    assert result.rows[0].where == f"{CAMPUS_SHEET}第 {row - 1} 行"
    assert result.rows[0].sheet.criteria["gate"] == 3


def test_key_row_wins_over_an_edited_chinese_header(tmp_path: Path) -> None:
    path = template(tmp_path)
    fill(path, {"S01": full("campus")})
    book = openpyxl.load_workbook(path)
    book["平安校园"]["D2"] = "第一项"
    book.save(path)

    result = read(path)

    assert result.problems == []
    assert [r.cell for r in result.rows] == ["S01"]


@pytest.mark.parametrize("suffix", [".xlsx", ".csv"])
def test_empty_file_is_one_problem(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"空{suffix}"
    path.write_bytes(b"")

    assert "文件为空" in only(read(path)).message


def test_csv_of_blank_lines_is_one_problem(tmp_path: Path) -> None:
    path = tmp_path / "空.csv"
    path.write_text("\n , \n\n", encoding="utf-8")

    assert only(read(path)).message == "文件中没有内容"


def test_workbook_with_no_content_is_one_problem(tmp_path: Path) -> None:
    path = tmp_path / "空.xlsx"
    openpyxl.Workbook().save(path)

    assert only(read(path)).message == "文件中没有内容"


def test_other_file_types_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "评分表.doc"
    path.write_bytes(b"x")

    assert "不支持的文件类型" in only(read(path)).message


# --- CSV ---------------------------------------------------------------------------------


@functools.cache
def template_bytes() -> bytes:
    with tempfile.TemporaryDirectory() as directory:
        return template(Path(directory)).read_bytes()


def blank_book() -> Any:
    return openpyxl.load_workbook(io.BytesIO(template_bytes()))


def chinese_header(domain: str) -> list[str]:
    return ["领域", *(c.value for c in blank_book()[CAMPAIGN.domain(domain).name][2])]


def write_csv(path: Path, rows: list[list[Any]], encoding: str = "utf-8") -> Path:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    path.write_bytes(buffer.getvalue().encode(encoding))
    return path


def campus_csv_row(code: str, domain: str = "平安校园", **extra: Any) -> list[Any]:
    r = CAMPAIGN.domain("campus").rubric
    values = {f"c:{c.key}": c.points for c in r.criteria} | extra
    return [
        domain,
        code,
        CELLS[code].name if code in CELLS else "",
        "",
        *(values.get(f"c:{c.key}", "") for c in r.criteria),
        *(values.get(f"d:{d.key}", "") for d in r.deductions),
        *(values.get(f"v:{v.key}", "") for v in r.vetoes),
        "",  # 总分 and 是否达标: the template's formulas, never read
        "",
        values.get("assessor", "李四"),
        values.get("assessed_on", "2017/11/15"),
        values.get("note", ""),
    ]


def test_gbk_csv_with_chinese_headers_is_read(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "评分.csv",
        [
            chinese_header("campus"),
            campus_csv_row("S01", **{"v:fire": "是", "d:criminal-case": "1"}),
            campus_csv_row("S02", domain="campus"),
        ],
        encoding="gbk",
    )

    result = read(path)

    assert result.problems == []
    assert [(r.cell, r.where, r.assessor) for r in result.rows] == [
        ("S01", "第 2 行", "李四"),
        ("S02", "第 3 行", "李四"),
    ]
    assert result.rows[0].sheet.vetoes == {"fire"}
    assert result.rows[0].sheet.deductions == {"criminal-case": 1}


def test_utf8_bom_csv_with_machine_keys_and_two_domains_is_read(tmp_path: Path) -> None:
    book = blank_book()
    campus_keys = [c.value for c in book["平安校园"][3]]
    family_keys = [c.value for c in book["平安家庭"][3]]
    header = ["domain", *campus_keys, *(k for k in family_keys if k not in campus_keys)]
    family = full("family", assessed_on="2017-11-16", assessor="王五")
    body = [
        {"domain": "campus", "code": "S01", **full("campus")},
        {"domain": "family", "code": "F02", **family},
    ]
    rows = [[str(values.get(k, "")) for k in header] for values in body]
    path = write_csv(tmp_path / "评分.csv", [header, *rows], encoding="utf-8-sig")

    result = read(path)

    assert result.problems == []
    assert [(r.cell, r.domain, r.assessed_on) for r in result.rows] == [
        ("S01", "campus", ON),
        ("F02", "family", date(2017, 11, 16)),
    ]
    assert result.rows[1].sheet == full_sheet("family")


def test_csv_problem_names_row_and_column(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "评分.csv",
        [chinese_header("campus"), campus_csv_row("S01"), campus_csv_row("H01")],
    )

    problem = only(read(path))

    assert problem.where == "第 3 行 单位编码"
    assert "属于平安医院，不能填入本行所填领域（平安校园）" in problem.message


def test_csv_without_domain_column_is_reported(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "评分.csv", [chinese_header("campus")[1:], campus_csv_row("S01")[1:]]
    )

    problem = only(read(path))

    assert problem.where == "第 1 行"
    assert "缺少列“领域”" in problem.message


def test_csv_unknown_domain_is_reported(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "评分.csv", [chinese_header("campus"), campus_csv_row("S01", domain="平安学校")]
    )

    problem = only(read(path))

    assert problem.where == "第 2 行 领域"
    assert "未知领域 '平安学校'" in problem.message


def test_csv_row_of_a_domain_whose_columns_are_absent_is_reported_once(tmp_path: Path) -> None:
    header = chinese_header("campus")
    path = write_csv(
        tmp_path / "评分.csv",
        [header, ["平安家庭", "F01", *([""] * (len(header) - 2))], ["平安家庭", "F02", "x"]],
    )

    problems = read(path).problems

    assert {p.where for p in problems} == {"第 1 行"}
    assert len(problems) == len(CAMPAIGN.domain("family").rubric.criteria) + len(
        CAMPAIGN.domain("family").rubric.vetoes
    )
    assert "缺少平安家庭的列“学法用法、依法维权（满分 15）”" in problems[0].message


def test_csv_in_an_unknown_encoding_is_one_problem(tmp_path: Path) -> None:
    path = tmp_path / "评分.csv"
    path.write_bytes(b"\xff\xfe\x00\xd8" * 10)

    assert "无法识别文件编码" in only(read(path)).message


@pytest.mark.slow
def test_hundred_thousand_csv_rows_parse_well_under_thirty_seconds(tmp_path: Path) -> None:
    cells = {f"F{i:06d}": CellRef(f"F{i:06d}", f"家庭{i}", "family", "v1") for i in range(100_000)}
    header = chinese_header("family")
    r = CAMPAIGN.domain("family").rubric
    buffer = io.StringIO()
    out = csv.writer(buffer, lineterminator="\n")
    out.writerow(header)
    for code in cells:
        scores = [*(c.points for c in r.criteria), *("否" for _ in r.vetoes)]
        out.writerow(["平安家庭", code, "", "", *scores, "", "", "张三", "2017-11-15", ""])
    path = tmp_path / "big.csv"
    path.write_text(buffer.getvalue(), encoding="utf-8")

    started = time.perf_counter()
    result = read_scores(path, CAMPAIGN, cells, today=TODAY, window=WINDOW)
    elapsed = time.perf_counter() - started

    assert result.problems == []
    assert len(result.rows) == 100_000
    assert elapsed < 15


# --- hostile input -----------------------------------------------------------------------


@contextmanager
def scratch(name: str) -> Iterator[Path]:
    # Not tmp_path: hypothesis runs many examples inside one function-scoped fixture.
    with tempfile.TemporaryDirectory() as directory:
        yield Path(directory) / name


def assert_sound(result: ImportResult) -> None:
    assert isinstance(result, ImportResult)
    assert not (result.rows and result.problems)
    assert all(isinstance(p, Problem) and p.message for p in result.problems)


@settings(max_examples=80, deadline=None)
@given(data=st.binary(max_size=4096), suffix=st.sampled_from([".xlsx", ".csv"]))
def test_random_bytes_never_raise(data: bytes, suffix: str) -> None:
    with scratch(f"评分{suffix}") as path:
        path.write_bytes(data)
        assert_sound(read(path))


@settings(max_examples=40, deadline=None)
@given(
    flips=st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.integers(0, 255)), max_size=8),
    cut=st.floats(0.05, 1),
)
def test_damaged_template_never_raises(flips: list[tuple[float, int]], cut: float) -> None:
    data = bytearray(template_bytes())
    for where, byte in flips:
        data[int(where * len(data))] = byte
    with scratch("评分.xlsx") as path:
        path.write_bytes(bytes(data[: max(1, int(cut * len(data)))]))
        assert_sound(read(path))


VALUES = st.one_of(
    st.none(),
    st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=12),
    st.integers(-(10**30), 10**30),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.dates(min_value=date(1950, 1, 1), max_value=date(2100, 1, 1)),
    st.sampled_from(["是", "否", "Y", "2017-11-15", "2017年11月31日", "１０", " ", "S01", "code"]),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    changes=st.lists(
        st.tuples(
            st.sampled_from(["平安校园", "平安家庭"]), st.integers(1, 8), st.integers(1, 25), VALUES
        ),
        max_size=30,
    )
)
def test_random_cell_values_never_raise(changes: list[tuple[str, int, int, Any]]) -> None:
    with scratch("评分.xlsx") as path:
        book = blank_book()
        for sheet, row, column, value in changes:
            book[sheet].cell(row, column, value)
        book.save(path)
        assert_sound(read(path))


@settings(max_examples=60, deadline=None)
@given(
    rows=st.lists(
        st.lists(st.one_of(st.text(max_size=10), VALUES.map(str)), max_size=25), max_size=6
    )
)
def test_random_csv_rows_never_raise(rows: list[list[str]]) -> None:
    with scratch("评分.csv") as path:
        write_csv(path, [chinese_header("campus"), *rows])
        assert_sound(read(path))

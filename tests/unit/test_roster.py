from __future__ import annotations

import csv
import io
from pathlib import Path

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pingan.adapters.intake.roster import RAW_SECRET_MESSAGE, checker, read_roster
from pingan.core.campaign import Campaign, load_campaign
from pingan.core.problems import Problem
from pingan.core.roster import RosterResult, RosterRow

COLUMNS = [
    "code",
    "name",
    "type",
    "domain",
    "village",
    "category",
    "contact",
    "mobile",
    "email",
    "wecom",
    "dingtalk",
    "webhook",
]
VILLAGE = ["v01", "东村", "村社区", "", "", "", "张三", "13800138000", "", "", "", ""]
SCHOOL = ["c01", "东村小学", "创建单位", "平安校园", "v01", "小学", "李四", "", "", "", "", ""]


@pytest.fixture(scope="module")
def campaign() -> Campaign:
    return load_campaign("config/campaigns/xucheng-2017.yaml")


def cell(**fields: str) -> list[str]:
    """A valid cell row in VILLAGE v01, with some fields replaced."""
    values = dict(zip(COLUMNS, SCHOOL, strict=True))
    values["code"] = "c09"
    values.update(fields)
    return [values[c] for c in COLUMNS]


def write_csv(
    path: Path,
    rows: list[list[str]],
    *,
    header: list[str] = COLUMNS,
    encoding: str = "utf-8",
) -> Path:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows([header, *rows])
    path.write_bytes(buffer.getvalue().encode(encoding))
    return path


def check_rows(tmp_path: Path, campaign: Campaign, *extra: list[str]) -> RosterResult:
    """Read VILLAGE (row 2), SCHOOL (row 3) and the extra rows (from row 4)."""
    return read_roster(write_csv(tmp_path / "名册.csv", [VILLAGE, SCHOOL, *extra]), campaign)


def only_problem(result: RosterResult) -> Problem:
    assert len(result.problems) == 1, result.problems
    return result.problems[0]


def write_xlsx(path: Path, rows: list[list[object]], *, title: str = "名册") -> Path:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = title
    for row in rows:
        sheet.append(row)
    book.save(path)
    return path


# --------------------------------------------------------------------------- valid files


def test_valid_utf8_csv_gives_every_row_normalised(tmp_path: Path, campaign: Campaign) -> None:
    result = check_rows(tmp_path, campaign)

    assert result.problems == []
    assert result.invalid_lines == set()
    assert result.rows == [
        RosterRow(
            line=2,
            code="v01",
            name="东村",
            kind="village",
            domain=None,
            village=None,
            category=None,
            contact="张三",
            mobile="13800138000",
            email=None,
            wecom=None,
            dingtalk=None,
            webhook=None,
        ),
        RosterRow(
            line=3,
            code="c01",
            name="东村小学",
            kind="cell",
            domain="campus",
            village="v01",
            category="小学",
            contact="李四",
            mobile=None,
            email=None,
            wecom=None,
            dingtalk=None,
            webhook=None,
        ),
    ]


def test_utf8_csv_with_bom_reads_the_first_header(tmp_path: Path, campaign: Campaign) -> None:
    path = write_csv(tmp_path / "r.csv", [VILLAGE, SCHOOL], encoding="utf-8-sig")

    result = read_roster(path, campaign)

    assert result.problems == []
    assert [r.code for r in result.rows] == ["v01", "c01"]


def test_gbk_csv_is_decoded(tmp_path: Path, campaign: Campaign) -> None:
    path = write_csv(tmp_path / "r.csv", [VILLAGE, SCHOOL], encoding="gbk")

    result = read_roster(path, campaign)

    assert result.problems == []
    assert [r.name for r in result.rows] == ["东村", "东村小学"]


def test_chinese_headers_match_ignoring_case_spaces_and_bracket_width(
    tmp_path: Path, campaign: Campaign
) -> None:
    header = [" 编码 ", "名称", "类型", "领域", "村（社区）", "类别", "联系人", "手机号", "邮箱"]
    header += ["企业微信机器人", "钉钉机器人", "推送地址"]
    path = write_csv(tmp_path / "r.csv", [VILLAGE, SCHOOL], header=header)

    result = read_roster(path, campaign)

    assert result.problems == []
    assert result.rows[1].village == "v01"
    assert result.rows[0].mobile == "13800138000"


def test_english_headers_are_case_insensitive(tmp_path: Path, campaign: Campaign) -> None:
    path = write_csv(tmp_path / "r.csv", [VILLAGE], header=[c.upper() for c in COLUMNS])

    assert read_roster(path, campaign).problems == []


def test_minimal_roster_needs_only_code_name_type_for_villages(
    tmp_path: Path, campaign: Campaign
) -> None:
    path = write_csv(
        tmp_path / "r.csv", [["v01", "东村", "village"]], header=["code", "name", "type"]
    )

    result = read_roster(path, campaign)

    assert result.problems == []
    assert result.rows[0].kind == "village"


@pytest.mark.parametrize(
    ("given", "kind"),
    [
        ("cell", "cell"),
        ("细胞", "cell"),
        ("创建单位", "cell"),
        ("Cell", "cell"),
        ("village", "village"),
        ("村社区", "village"),
        ("村(社区)", "village"),
        ("村（社区）", "village"),
        ("村", "village"),
        ("社区", "village"),
    ],
)
def test_type_synonyms_are_normalised(
    tmp_path: Path, campaign: Campaign, given: str, kind: str
) -> None:
    row = cell(type=given) if kind == "cell" else [*VILLAGE[:2], given, *VILLAGE[3:]]
    if kind == "village":
        row[0] = "v09"

    result = check_rows(tmp_path, campaign, row)

    assert result.problems == []
    assert result.rows[-1].kind == kind


def test_domain_given_by_key_or_name_is_normalised_to_the_key(
    tmp_path: Path, campaign: Campaign
) -> None:
    result = check_rows(
        tmp_path,
        campaign,
        cell(code="c10", domain="hospital", category="诊所"),
        cell(code="c11", domain="平安医院", category=""),
        cell(code="c12", domain="Enterprise", category="企业"),
    )

    assert result.problems == []
    assert [r.domain for r in result.rows[2:]] == ["hospital", "hospital", "enterprise"]


def test_cell_may_refer_to_a_known_village_not_in_the_file(
    tmp_path: Path, campaign: Campaign
) -> None:
    path = write_csv(tmp_path / "r.csv", [cell(village="v77")])

    result = read_roster(path, campaign, known_villages={"v77"})

    assert result.problems == []
    assert result.rows[0].village == "v77"


def test_cell_may_come_before_its_village_row(tmp_path: Path, campaign: Campaign) -> None:
    path = write_csv(tmp_path / "r.csv", [SCHOOL, VILLAGE])

    assert read_roster(path, campaign).problems == []


def test_unit_row_adds_contact_details_to_a_campaign_unit(
    tmp_path: Path, campaign: Campaign
) -> None:
    unit = ["jdjb", "街道教办", "单位", "", "", "", "王五", "13700137000", "", "", "", ""]

    result = check_rows(tmp_path, campaign, unit)

    assert result.problems == []
    assert result.rows[-1].kind == "unit"
    assert result.rows[-1].contact == "王五"


def test_mobile_with_country_code_spaces_and_hyphens_is_normalised(
    tmp_path: Path, campaign: Campaign
) -> None:
    result = check_rows(
        tmp_path,
        campaign,
        cell(code="c10", mobile="+86 138-0013-8000"),
        cell(code="c11", mobile="8613900139000"),
    )

    assert result.problems == []
    assert [r.mobile for r in result.rows[2:]] == ["13800138000", "13900139000"]


def test_email_domain_is_lower_cased_and_local_part_kept(
    tmp_path: Path, campaign: Campaign
) -> None:
    result = check_rows(tmp_path, campaign, cell(email="Li.Si@Example.COM"))

    assert result.problems == []
    assert result.rows[-1].email == "Li.Si@example.com"


def test_secret_and_env_references_are_accepted(tmp_path: Path, campaign: Campaign) -> None:
    result = check_rows(
        tmp_path,
        campaign,
        cell(wecom="secret:campus-wecom", dingtalk="env:DING_HOOK", webhook="SECRET:web.hook_1"),
    )

    assert result.problems == []
    last = result.rows[-1]
    assert (last.wecom, last.dingtalk, last.webhook) == (
        "secret:campus-wecom",
        "env:DING_HOOK",
        "secret:web.hook_1",
    )


def test_blank_lines_are_skipped_but_keep_their_row_numbers(
    tmp_path: Path, campaign: Campaign
) -> None:
    path = tmp_path / "r.csv"
    path.write_text(
        ",".join(COLUMNS) + "\n\n" + ",".join(VILLAGE) + "\n ,  ,\n" + ",".join(cell(mobile="1"))
    )

    result = read_roster(path, campaign)

    assert [r.line for r in result.rows] == [3]
    assert only_problem(result).where == "第 5 行 手机"


# --------------------------------------------------------------------------- xlsx


def test_xlsx_mobile_typed_as_a_number_becomes_its_digits(
    tmp_path: Path, campaign: Campaign
) -> None:
    path = write_xlsx(
        tmp_path / "r.xlsx",
        [
            COLUMNS,
            VILLAGE,
            [*cell(code="c10")[:7], 13800138000],
            [*cell(code="c11")[:7], 1.38e10],
        ],
    )

    result = read_roster(path, campaign)

    assert result.problems == []
    assert [r.mobile for r in result.rows] == ["13800138000", "13800138000", "13800000000"]


def test_xlsx_problem_location_names_the_sheet_and_skips_empty_rows(
    tmp_path: Path, campaign: Campaign
) -> None:
    path = write_xlsx(
        tmp_path / "r.xlsx",
        [COLUMNS, VILLAGE, [], [], [*cell()[:7], 1381234]],
    )

    result = read_roster(path, campaign)

    problem = only_problem(result)
    assert problem.where == "工作表 名册 第 5 行 手机"
    assert problem.message == "'1381234' 不是有效的 11 位大陆手机号"
    assert result.invalid_lines == {5}


def test_xlsx_unknown_column_is_named_by_letter(tmp_path: Path, campaign: Campaign) -> None:
    path = write_xlsx(tmp_path / "r.xlsx", [["编码", "名称", "类型", "电话"], VILLAGE[:3]])

    result = read_roster(path, campaign)

    assert result.problems == [] and len(result.rows) == 1
    (warning,) = result.warnings
    assert warning.where == "工作表 名册 第 1 行"
    assert "'电话'（D 列）" in warning.message


def test_damaged_xlsx_is_one_problem(tmp_path: Path, campaign: Campaign) -> None:
    path = tmp_path / "r.xlsx"
    path.write_bytes(b"PK\x03\x04 not really a workbook")

    problem = only_problem(read_roster(path, campaign))

    assert (problem.source, problem.where) == (str(path), "")
    assert "无法打开 Excel 文件" in problem.message


# --------------------------------------------------------------------------- whole-file rejections


@pytest.mark.parametrize("name", ["名册.doc", "名册.pdf", "名册"])
def test_other_extensions_are_rejected(tmp_path: Path, campaign: Campaign, name: str) -> None:
    path = tmp_path / name
    path.write_text(",".join(COLUMNS))

    problem = only_problem(read_roster(path, campaign))

    assert problem.source == str(path)
    assert "名册须为 Excel（.xlsx、.xls）、ODS（.ods）或文本（.csv、.txt）文件" in problem.message


def test_missing_file_is_one_problem(tmp_path: Path, campaign: Campaign) -> None:
    assert only_problem(read_roster(tmp_path / "无.csv", campaign)).message == "文件不存在"


def test_csv_neither_utf8_nor_gb18030_names_the_file(tmp_path: Path, campaign: Campaign) -> None:
    path = tmp_path / "r.csv"
    path.write_bytes(b"code,name,type\n\x81\x20\xff\xff\n")

    problem = only_problem(read_roster(path, campaign))

    assert problem.source == str(path)
    assert "无法识别文件编码" in problem.message


def test_file_over_200_mb_is_one_problem(tmp_path: Path, campaign: Campaign) -> None:
    path = tmp_path / "r.csv"
    with path.open("wb") as fh:
        fh.truncate(200 * 1024 * 1024 + 1)

    problem = only_problem(read_roster(path, campaign))

    assert "名册文件上限为 200 MB" in problem.message


def test_more_data_rows_than_the_limit_is_one_problem(
    tmp_path: Path, campaign: Campaign, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(checker, "MAX_DATA_ROWS", 3)
    rows = [VILLAGE] + [cell(code=f"c{i}", mobile="bad") for i in range(3)]

    result = read_roster(write_csv(tmp_path / "r.csv", rows), campaign)

    assert result.rows == []
    assert "名册数据行超过上限" in only_problem(result).message


def test_empty_file_is_one_problem(tmp_path: Path, campaign: Campaign) -> None:
    path = tmp_path / "r.csv"
    path.write_bytes(b"")

    assert "文件为空" in only_problem(read_roster(path, campaign)).message


def test_header_without_rows_is_reported(tmp_path: Path, campaign: Campaign) -> None:
    path = write_csv(tmp_path / "r.csv", [])

    assert only_problem(read_roster(path, campaign)).message == "名册中没有数据行"


def test_data_rows_of_only_spaces_count_as_blank(tmp_path: Path, campaign: Campaign) -> None:
    path = tmp_path / "r.csv"
    path.write_text(",".join(COLUMNS) + "\n \t, ,\n")

    assert only_problem(read_roster(path, campaign)).message == "名册中没有数据行"


def test_sheet_without_a_header_row_is_one_problem(tmp_path: Path, campaign: Campaign) -> None:
    path = tmp_path / "r.csv"
    path.write_text(",".join(VILLAGE) + "\n" + ",".join(SCHOOL) + "\n")

    problem = only_problem(read_roster(path, campaign))

    assert problem.where == "第 1 行"
    assert "未找到表头" in problem.message


# --------------------------------------------------------------------------- header problems


def test_unknown_column_is_a_warning_naming_it_and_rows_still_checked(
    tmp_path: Path, campaign: Campaign
) -> None:
    path = write_csv(
        tmp_path / "r.csv", [[*VILLAGE, "x"], [*cell(mobile="1"), "y"]], header=[*COLUMNS, "电话"]
    )

    result = read_roster(path, campaign)

    assert [(p.where, p.message[:10]) for p in result.problems] == [
        ("第 3 行 手机", "'1' 不是有效的 "),
    ]
    assert [(w.where, "'电话'（第 13 列）" in w.message) for w in result.warnings] == [
        ("第 1 行", True)
    ]


def test_duplicated_column_is_reported(tmp_path: Path, campaign: Campaign) -> None:
    header = ["code", "name", "type", "手机", "手机号"]
    path = write_csv(tmp_path / "r.csv", [[*VILLAGE[:3], "13800138000", ""]], header=header)

    problem = only_problem(read_roster(path, campaign))

    assert problem.where == "第 1 行 第 5 列"
    assert "列名 '手机号' 与第 4 列（手机）是同一列" in problem.message


def test_missing_required_column_stops_before_row_checks(
    tmp_path: Path, campaign: Campaign
) -> None:
    path = write_csv(tmp_path / "r.csv", [["东村", "bad type"]], header=["name", "type"])

    result = read_roster(path, campaign)

    problem = only_problem(result)
    assert problem.where == "第 1 行"
    assert problem.message == "缺少必填列“编码”（或英文列名 code）"
    assert result.rows == []


def test_data_in_a_column_without_header_is_reported_once(
    tmp_path: Path, campaign: Campaign
) -> None:
    path = write_csv(tmp_path / "r.csv", [[*VILLAGE, "x"], [*SCHOOL, "y"]])

    problem = only_problem(read_roster(path, campaign))

    assert problem.where == "第 2 行 第 13 列"
    assert "该列没有列名" in problem.message


# --------------------------------------------------------------------------- row problems


@pytest.mark.parametrize(
    ("row", "where", "message"),
    [
        (cell(code=""), "第 4 行 编码", "缺少编码"),
        (cell(name=""), "第 4 行 名称", "缺少名称"),
        (cell(type=""), "第 4 行 类型", "缺少类型"),
        (cell(code="c 09"), "第 4 行 编码", "编码 'c 09' 格式不符"),
        (cell(code="-c09"), "第 4 行 编码", "编码 '-c09' 格式不符"),
        (cell(code="c" * 65), "第 4 行 编码", "格式不符"),
        (cell(name="校" * 201), "第 4 行 名称", "名称过长（201 个字符，上限 200 个）"),
        (cell(name="东村\n小学"), "第 4 行 名称", "名称 '东村\\n小学' 含有控制字符"),
        (cell(name="东村\u202e小学"), "第 4 行 名称", "含有控制字符"),
        (cell(type="学校"), "第 4 行 类型", "类型 '学校' 无效"),
        (cell(domain=""), "第 4 行 领域", "创建单位须填写领域"),
        (
            cell(domain="平安学校"),
            "第 4 行 领域",
            "领域 '平安学校' 不存在，可选：campus（平安校园）",
        ),
        (cell(village=""), "第 4 行 所属村社区", "创建单位须填写所属村社区"),
        (cell(village="v99"), "第 4 行 所属村社区", "所属村社区 'v99' 不存在"),
        (cell(village="V01"), "第 4 行 所属村社区", "是否应为第 2 行的 'v01'？"),
        (cell(village="c01"), "第 4 行 所属村社区", "'c01' 是第 3 行的创建单位，不是村社区"),
        (
            cell(category="大学"),
            "第 4 行 类别",
            "类别 '大学' 不属于平安校园，可选：中学、小学、幼儿园",
        ),
        (cell(code="c01"), "第 4 行 编码", "编码 'c01' 与第 3 行重复"),
        (cell(code="C01"), "第 4 行 编码", "编码 'C01' 与第 3 行重复（'c01'，编码不区分大小写）"),
        (cell(code="jdjb"), "第 4 行 编码", "编码 'jdjb' 已是活动方案中单位（街道教办）的编码"),
        (cell(code="ZZW"), "第 4 行 编码", "已是活动方案中单位（街道综治委）的编码"),
        (cell(mobile="1381234"), "第 4 行 手机", "'1381234' 不是有效的 11 位大陆手机号"),
        (cell(mobile="12800138000"), "第 4 行 手机", "不是有效的 11 位大陆手机号"),
        (cell(mobile="１３８００１３８０００"), "第 4 行 手机", "不是有效的 11 位大陆手机号"),
        (cell(email="li@example"), "第 4 行 邮箱", "'li@example' 不是有效的邮箱地址"),
        (cell(email="li@@example.com"), "第 4 行 邮箱", "不是有效的邮箱地址"),
        (cell(email="li si@example.com"), "第 4 行 邮箱", "不是有效的邮箱地址"),
        (cell(contact="张\t三"), "第 4 行 联系人", "联系人 '张\\t三' 含有控制字符"),
        (cell(contact="张" * 101), "第 4 行 联系人", "联系人过长（101 个字符，上限 100 个）"),
        (cell(contact="张" * 1001), "第 4 行 联系人", "内容过长（1001 个字符，上限 1000 个）"),
        (
            cell(email="a" * 250 + "@b.cn"),
            "第 4 行 邮箱",
            "邮箱地址过长（255 个字符，上限 254 个）",
        ),
    ],
)
def test_bad_row_is_reported_at_its_row_and_column(
    tmp_path: Path, campaign: Campaign, row: list[str], where: str, message: str
) -> None:
    result = check_rows(tmp_path, campaign, row)

    problem = only_problem(result)
    assert problem.source == str(tmp_path / "名册.csv")
    assert problem.where == where
    assert message in problem.message
    assert result.invalid_lines == {4}
    assert [r.line for r in result.rows] == [2, 3]


@pytest.mark.parametrize(
    ("row", "where", "message"),
    [
        (
            ["v09", "西村", "村社区", "平安校园", "", "", "", "", "", "", "", ""],
            "第 4 行 领域",
            "村社区行不应填写领域（当前为 '平安校园'）",
        ),
        (
            ["v09", "西村", "village", "", "v01", "", "", "", "", "", "", ""],
            "第 4 行 所属村社区",
            "村社区行不应填写所属村社区",
        ),
        (
            ["jdjb", "街道教办", "unit", "", "", "小学", "", "", "", "", "", ""],
            "第 4 行 类别",
            "单位行不应填写类别",
        ),
        (
            ["xyz", "某单位", "unit", "", "", "", "", "", "", "", "", ""],
            "第 4 行 编码",
            "单位编码 'xyz' 未在活动方案中定义",
        ),
        (
            ["JDJB", "街道教办", "unit", "", "", "", "", "", "", "", "", ""],
            "第 4 行 编码",
            "与活动方案中的 'jdjb' 大小写不一致",
        ),
    ],
)
def test_bad_village_or_unit_row_is_reported(
    tmp_path: Path, campaign: Campaign, row: list[str], where: str, message: str
) -> None:
    problem = only_problem(check_rows(tmp_path, campaign, row))

    assert problem.where == where
    assert message in problem.message


def test_cell_in_a_village_whose_own_row_is_bad_is_held_back(
    tmp_path: Path, campaign: Campaign
) -> None:
    bad_village = ["v02", "西村", "村社区", "", "", "", "", "123", "", "", "", ""]

    result = check_rows(tmp_path, campaign, bad_village, cell(village="v02"))

    assert [(p.where, p.message) for p in result.problems] == [
        ("第 4 行 手机", "'123' 不是有效的 11 位大陆手机号"),
        ("第 5 行 所属村社区", "所属村社区 'v02'（第 4 行）本身有误，请先更正该行"),
    ]
    assert result.invalid_lines == {4, 5}


def test_codes_of_invalid_rows_are_listed_for_the_loader(
    tmp_path: Path, campaign: Campaign
) -> None:
    result = check_rows(
        tmp_path,
        campaign,
        cell(code="c10", mobile="1"),
        cell(code="c11", village="v99"),
        cell(code="c 12", mobile="1"),
    )

    assert result.invalid_lines == {4, 5, 6}
    assert result.invalid_codes == {"c10", "c11"}


def test_known_village_differing_only_in_case_is_suggested(
    tmp_path: Path, campaign: Campaign
) -> None:
    path = write_csv(tmp_path / "r.csv", [cell(village="V77")])

    problem = only_problem(read_roster(path, campaign, known_villages={"v77"}))

    assert problem.message == "所属村社区 'V77' 不存在，是否应为 'v77'？"


def test_offending_value_is_cut_to_40_characters(tmp_path: Path, campaign: Campaign) -> None:
    problem = only_problem(check_rows(tmp_path, campaign, cell(email="a" * 60)))

    assert problem.message == f"'{'a' * 40}…' 不是有效的邮箱地址"


def test_huge_cell_is_a_problem_not_a_crash(tmp_path: Path, campaign: Campaign) -> None:
    problem = only_problem(check_rows(tmp_path, campaign, cell(name="校" * 200_000)))

    assert problem.where == "第 4 行"
    assert "有单元格内容过长" in problem.message


def test_rows_after_an_unreadably_huge_cell_are_still_checked(
    tmp_path: Path, campaign: Campaign
) -> None:
    result = check_rows(tmp_path, campaign, cell(name="校" * 200_000), cell(code="c10", mobile="1"))

    assert [p.where for p in result.problems] == ["第 4 行", "第 5 行 手机"]


# --------------------------------------------------------------------------- secrets


@pytest.mark.parametrize(
    "value",
    [
        "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa",
        "http://example.com/hook",
        "https://oapi.dingtalk.com/robot/send?access_token=0123456789abcdef",
        "key=abc",
        "693a91f6-7aaa-4bc4-97a0-0ec2bfa5aaaa",
        "SEC0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        "secret:0123456789abcdef0123456789abcdef",
    ],
)
@pytest.mark.parametrize("column", ["wecom", "dingtalk", "webhook"])
def test_raw_robot_key_or_address_is_rejected_without_echo(
    tmp_path: Path, campaign: Campaign, value: str, column: str
) -> None:
    result = check_rows(tmp_path, campaign, cell(**{column: value}))

    problem = only_problem(result)
    label = {"wecom": "企业微信机器人", "dingtalk": "钉钉机器人", "webhook": "推送地址"}[column]
    assert problem.where == f"第 4 行 {label}"
    assert problem.message == RAW_SECRET_MESSAGE
    assert_not_echoed(result, value)


@pytest.mark.parametrize("value", ["campus-wecom", "secret:x/y", "vault:x", "secret:a b", "tok3n!"])
def test_malformed_reference_is_rejected_without_echo(
    tmp_path: Path, campaign: Campaign, value: str
) -> None:
    result = check_rows(tmp_path, campaign, cell(wecom=value))

    problem = only_problem(result)
    assert problem.where == "第 4 行 企业微信机器人"
    assert "应填写 secret:名称 或 env:名称 形式的引用" in problem.message
    assert_not_echoed(result, value)


def test_huge_secret_value_is_not_echoed(tmp_path: Path, campaign: Campaign) -> None:
    value = "x" * 2000

    result = check_rows(tmp_path, campaign, cell(webhook=value))

    assert only_problem(result).where == "第 4 行 推送地址"
    assert_not_echoed(result, value)


def assert_not_echoed(result: RosterResult, value: str) -> None:
    for problem in result.problems:
        text = str(problem)
        assert value not in text
        assert value[:12] not in text


# --------------------------------------------------------------------------- many problems


def test_every_problem_in_every_row_is_reported(tmp_path: Path, campaign: Campaign) -> None:
    result = check_rows(
        tmp_path,
        campaign,
        cell(code="c10", mobile="12345"),
        cell(code="c11"),
        cell(code="c12", type="?", email="nope"),
        cell(code="c01", domain="平安学校", village="v99"),
    )

    assert [(p.where, p.message[:9]) for p in result.problems] == [
        ("第 4 行 手机", "'12345' 不"),
        ("第 6 行 类型", "类型 '?' 无效"),
        ("第 6 行 邮箱", "'nope' 不是"),
        ("第 7 行 编码", "编码 'c01' "),
        ("第 7 行 领域", "领域 '平安学校'"),
        ("第 7 行 所属村社区", "所属村社区 'v9"),
    ]
    assert result.invalid_lines == {4, 6, 7}
    assert [r.line for r in result.rows] == [2, 3, 5]


def test_problems_in_a_large_roster_keep_row_order_across_chunks(
    tmp_path: Path, campaign: Campaign
) -> None:
    rows = [VILLAGE] + [cell(code=f"c{i:05d}") for i in range(1, 3001)]  # rows[i] is row i + 2
    for i in (10, 700, 3000):
        rows[i] = cell(code=f"c{i:05d}", mobile="1")
    rows[1500] = cell(code="c00020")

    result = read_roster(write_csv(tmp_path / "r.csv", rows), campaign)

    assert [p.where for p in result.problems] == [
        "第 12 行 手机",
        "第 702 行 手机",
        "第 1502 行 编码",
        "第 3002 行 手机",
    ]
    assert "与第 22 行重复" in result.problems[2].message
    assert len(result.rows) == 2997
    assert [r.line for r in result.rows] == sorted(r.line for r in result.rows)


# --------------------------------------------------------------------------- robustness

_robust = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@_robust
@given(
    head=st.sampled_from([b"", ",".join(COLUMNS).encode() + b"\n", b'code,name,type\nv1,"']),
    data=st.binary(max_size=2000),
)
def test_random_bytes_as_csv_give_problems_never_an_exception(
    tmp_path_factory: pytest.TempPathFactory, campaign: Campaign, head: bytes, data: bytes
) -> None:
    path = tmp_path_factory.getbasetemp() / "random.csv"
    path.write_bytes(head + data)

    result = read_roster(path, campaign)

    assert result.problems or result.rows


@_robust
@given(data=st.binary(max_size=2000))
def test_random_bytes_as_xlsx_give_one_problem(
    tmp_path_factory: pytest.TempPathFactory, campaign: Campaign, data: bytes
) -> None:
    path = tmp_path_factory.getbasetemp() / "random.xlsx"
    path.write_bytes(data)

    assert len(read_roster(path, campaign).problems) == 1


_text = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=30)


@_robust
@given(rows=st.lists(st.lists(_text, max_size=14), max_size=20))
def test_random_text_rows_give_problems_never_an_exception(
    tmp_path_factory: pytest.TempPathFactory, campaign: Campaign, rows: list[list[str]]
) -> None:
    path = write_csv(tmp_path_factory.getbasetemp() / "text.csv", rows)

    result = read_roster(path, campaign)

    assert {r.line for r in result.rows}.isdisjoint(result.invalid_lines)


# Good rows of each kind, then edits with values that pass or fail each check, so that
# random rosters mix clean rows (bulk path) with rows that need row() in every column.
_good_rows = [
    VILLAGE,
    ["v02", "西村", "village", "", "", "", "", "", "", "", "", ""],
    SCHOOL,
    ["h1", "卫生室", "cell", "hospital", "v02", "", "", "+86 139-0013-9000", "A@B.CN", "", "", ""],
    ["e1", "工厂", "细胞", "平安企业", "k01", "企业", "", "", "", "secret:w", "env:D", ""],
    ["jdjb", "街道教办", "unit", "", "", "", "王五", "13700137000", "", "", "", ""],
]
_samples = {
    "code": ["v01", "c01", "C01", "jdjb", "JDJB", "zzw", "c 4", "", "x" * 70],
    "name": ["东村小学", "", "a\nb", "长" * 201],
    "type": ["cell", "村社区", "unit", "村（社区）", "学校", "", "CELL"],
    "domain": ["", "campus", "平安医院", "Family", "nope"],
    "village": ["", "v01", "v02", "V01", "c01", "k01", "k02"],
    "category": ["", "小学", "诊所", "大学"],
    "contact": ["", "张三", "张\t三", "x" * 101, "x" * 1001],
    "mobile": ["", "13800138000", "+86 139-0013-9000", "123", "１３８００１３８０００"],
    "email": ["", "a@b.cn", "A@B.CN", "a@b", "a" * 250 + "@b.cn"],
    "wecom": ["", "secret:w", "env:W", "https://x", "bad ref"],
    "dingtalk": ["", "SECRET:d", "key=1"],
    "webhook": ["", "env:hook", "693a91f6-7aaa-4bc4-97a0-0ec2bfa5aaaa"],
}
_edit = st.sampled_from(COLUMNS).flatmap(
    lambda c: st.tuples(st.just(COLUMNS.index(c)), st.sampled_from(_samples[c]))
)


def _edited(row: list[str], code: str | None, edits: list[tuple[int, str]]) -> list[str]:
    row = [code or row[0], *row[1:]]
    for i, value in edits:
        row[i] = value
    return row


_random_row = st.builds(
    _edited,
    st.sampled_from(_good_rows),
    st.none() | st.integers(0, 30).map(lambda n: f"r{n}"),
    st.lists(_edit, max_size=2),
)


@_robust
@given(rows=st.lists(_random_row, max_size=25), known=st.sets(st.sampled_from(["v02", "k01"])))
def test_bulk_screens_agree_with_row_by_row_checks(
    tmp_path_factory: pytest.TempPathFactory,
    campaign: Campaign,
    rows: list[list[str]],
    known: set[str],
) -> None:
    path = write_csv(tmp_path_factory.getbasetemp() / "agree.csv", rows)

    with pytest.MonkeyPatch.context() as patch:
        # Small chunks so that duplicates and references also cross chunk boundaries.
        patch.setattr(checker, "_CHUNK_ROWS", 4)
        fast = read_roster(path, campaign, known_villages=known)
        patch.setattr(checker, "_FAST_PATH", False)
        slow = read_roster(path, campaign, known_villages=known)

    assert fast == slow

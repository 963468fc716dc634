"""The report renderers on hand-made data: one self-contained HTML page, an XLSX workbook whose
cells stay data, and charts whose Chinese is drawn with a real CJK font."""

from __future__ import annotations

import base64
import io
import re
import warnings
from dataclasses import replace
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from matplotlib.figure import Figure
from openpyxl import load_workbook

from pingan.adapters.render.report import ReportPaths, write_report
from pingan.adapters.render.report.charts import (
    CHART_NAMES,
    all_charts,
    burndown_chart,
    late_by_village_chart,
    notifications_chart,
)
from pingan.adapters.render.report.charts.style import chart_style
from pingan.adapters.render.report.data import (
    NO_CHANNEL,
    Burndown,
    ChannelCount,
    DomainReport,
    FailedCell,
    RedItem,
    ReportData,
    VillageLate,
    pct,
)
from pingan.adapters.render.report.html import HTML_ROW_LIMIT, render_html
from pingan.adapters.render.report.xlsx import render_xlsx
from pingan.core.campaign import Targets, Wording
from pingan.core.gates import STATUSES
from pingan.core.scoring import kpis

WORDING = Wording(
    name="徐城街道",
    level="街道",
    short="徐城",
    whole="全街道",
    coordinator="街道综治委",
    coordinator_formal="徐城街道综治委",
    office="街道综治中心",
    grouping="村（社区）",
    own_units="街道各单位",
    direct="街道直属单位",
)

TARGETS = Targets(coverage=1.0, pass_rate=0.9, coverage_gate="self-check")
HOSTILE = '=HYPERLINK("http://evil.example/x","点我")'
SCRIPT = "<script>alert('x')</script>小学"
PNG = b"\x89PNG\r\n\x1a\n"


def _red(i: int, name: str = "柳楼村小学") -> RedItem:
    return RedItem(
        domain="平安校园",
        village="柳楼村",
        unit_code=f"C{i:04d}",
        unit_name=name,
        gate="自查报告（查漏补缺情况）",
        due_on=date(2017, 10, 31),
        days_overdue=3,
        level=2,
        target="lead",
        told="牵头单位",
        assessment=False,
    )


def sample(**changes: object) -> ReportData:
    days = tuple(date(2017, 5, 1) + timedelta(days=i) for i in range(190))
    n = len(days)
    series = {
        "not_open": tuple(max(0, 100 - i) for i in range(n)),
        "open": tuple(40 if i < 150 else 5 for i in range(n)),
        "due_soon": tuple(3 if 140 < i < 150 else 0 for i in range(n)),
        "overdue": tuple(0 if i < 15 else 6 for i in range(n)),
        "done": tuple(min(i, 120) for i in range(n)),
        "done_late": tuple(0 if i < 20 else 4 for i in range(n)),
        "waived": tuple(1 for _ in range(n)),
    }
    campus = kpis(120, 110, 0, 0, 0, TARGETS)
    family = kpis(900, 900, 0, 0, 0, TARGETS)
    data = ReportData(
        campaign_code="xucheng-2017",
        campaign_name="2017年度徐城街道重点领域和行业“平安细胞”创建活动",
        short_name="徐城街道平安细胞创建",
        issuer="中共徐城街道工作委员会",
        coordinator="街道综治委",
        org=WORDING,
        office="街道综治中心",
        as_of=days[-1],
        generated_at=datetime(2017, 11, 6, 9, 0),
        phase="实施阶段",
        phases=(
            ("制定方案", date(2017, 5, 1), date(2017, 5, 15)),
            ("实施阶段", date(2017, 5, 16), date(2017, 11, 10)),
            ("考核验收", date(2017, 11, 11), date(2017, 11, 18)),
        ),
        ladder=((1, "责任单位"), (3, "牵头单位"), (5, "综治委")),
        repeat_every=5,
        starts_on=date(2017, 5, 1),
        ends_on=date(2017, 11, 30),
        assessment_opens_on=date(2017, 11, 11),
        coverage_target=1.0,
        pass_rate_target=0.9,
        domains=(
            DomainReport("campus", "平安校园", "街道教办", campus, 0, 11),
            DomainReport("family", "平安家庭", "街道妇联", family, 0, 0),
        ),
        overall=kpis(1020, 1010, 0, 0, 0, TARGETS),
        awarded=0,
        obligations={s: series[s][-1] for s in STATUSES},  # type: ignore[index]
        burndown=Burndown(days, series),  # type: ignore[arg-type]
        late_by_village=(
            VillageLate("V1", "柳楼村", 7, 2),
            VillageLate("V2", "桃埠社区", 4, 0),
            VillageLate(None, "街道直属单位", 0, 1),
        ),
        notifications=(
            ChannelCount("email", "sent", 320),
            ChannelCount("email", "dead", 4),
            ChannelCount("wecom", "sent", 150),
            ChannelCount("wecom", "failed", 3),
            ChannelCount(NO_CHANNEL, "dead", 2),
        ),
        notification_kinds={"digest": 12, "escalation": 40, "reminder": 420},
        red_items=(_red(1), _red(2, HOSTILE), _red(3, SCRIPT)),
        failed_cells=(
            FailedCell(
                "平安企业",
                "大营村",
                "C0099",
                HOSTILE,
                1,
                date(2017, 11, 15),
                92.0,
                80.0,
                True,
                ("一票否决：发生重大安全生产事故",),
                "考核组甲",
            ),
        ),
    )
    return replace(data, **changes)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def charts() -> dict[str, bytes]:
    return all_charts(sample())


@pytest.fixture(scope="module")
def html(charts: dict[str, bytes]) -> str:
    return render_html(sample(), charts)


def test_html_fetches_nothing_from_outside(html: str) -> None:
    # Any src/href/url() to another host — or a protocol-relative one — would break offline.
    assert not re.search(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", html, re.I)
    assert not re.search(r"url\(\s*['\"]?\s*(?:https?:)?//", html, re.I)
    assert "@import" not in html and "<link" not in html and "<script" not in html


def test_html_embeds_every_chart_as_a_png(html: str) -> None:
    sources = re.findall(r'<img src="([^"]+)"', html)
    assert len(sources) == len(CHART_NAMES)
    for src in sources:
        prefix = "data:image/png;base64,"
        assert src.startswith(prefix)
        assert base64.b64decode(src[len(prefix) :]).startswith(PNG)


def test_html_has_the_chinese_sections_a_reader_expects(html: str) -> None:
    for heading in (
        "徐城街道平安细胞创建工作进展报告",
        "一、分领域创建情况",
        "二、报送义务进度",
        "三、逾期事项分布（按村（社区））",
        "四、通知与督办",
        "五、逾期未报事项清单（共 3 项）",
        "六、考核未达标及一票否决单位（共 1 个）",
        "统计截至 <b>2017年11月6日（星期一）</b>",
    ):
        assert heading in html


def test_html_escapes_names_from_the_roster(html: str) -> None:
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;小学" in html
    assert "<script>" not in html


def test_html_reports_coverage_against_the_target(html: str) -> None:
    assert "创建覆盖率 99.0%（目标 100%），尚差 10 个" in html
    assert "考核验收尚未开始（2017年11月11日起）" in html


def test_html_lists_at_most_the_row_limit_and_points_to_the_workbook() -> None:
    many = tuple(_red(i) for i in range(HTML_ROW_LIMIT + 7))
    page = render_html(sample(red_items=many), {name: PNG for name in CHART_NAMES})
    assert page.count("<td>自查报告（查漏补缺情况）</td>") == HTML_ROW_LIMIT
    assert "另有 7 项见同名 XLSX 工作簿“逾期事项”工作表" in page


def test_xlsx_has_a_sheet_for_each_list_of_the_assessment(charts: dict[str, bytes]) -> None:
    wb = load_workbook(io.BytesIO(render_xlsx(sample(), charts)))
    assert wb.sheetnames == [
        "汇总",
        "逾期事项",
        "未达标单位",
        "逾期分布",
        "义务进度",
        "通知投递",
        "图表",
    ]
    assert len(wb["图表"]._images) == len(CHART_NAMES)


def test_xlsx_keeps_roster_text_that_looks_like_a_formula_as_text() -> None:
    wb = load_workbook(io.BytesIO(render_xlsx(sample())))
    names = [row[4] for row in wb["逾期事项"].iter_rows(min_row=4, values_only=True)]
    assert names == ["柳楼村小学", "'" + HOSTILE, SCRIPT]
    failed = next(wb["未达标单位"].iter_rows(min_row=4, values_only=True))
    assert failed[4] == "'" + HOSTILE and failed[9] == "一票否决"
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (ws.title, cell.coordinate)


def test_xlsx_summary_carries_ratios_as_numbers_with_the_targets() -> None:
    ws = load_workbook(io.BytesIO(render_xlsx(sample())))["汇总"]
    header = [c.value for c in ws[4]]
    campus = [c.value for c in ws[5]]
    total = [c.value for c in ws[7]]
    assert header[:8] == ["领域", "牵头单位", "创建单位", "已覆盖", "覆盖率", "覆盖率目标",
                          "覆盖率达标", "尚差（覆盖）"]  # fmt: skip
    assert campus[:8] == ["平安校园", "街道教办", 120, 110, pytest.approx(110 / 120), 1.0, "否", 10]
    assert total[:2] == ["全街道", "街道综治委"] and total[-1] == 3  # every red item
    assert ws.cell(row=5, column=5).number_format == "0.0%"


def _glyph_warnings(draw: object) -> list[str]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        draw()  # type: ignore[operator]
    return [str(w.message) for w in caught if "missing from font" in str(w.message)]


def test_charts_draw_chinese_without_missing_glyphs() -> None:
    data = sample()
    assert _glyph_warnings(lambda: all_charts(data)) == []


def test_the_glyph_check_would_see_a_character_no_font_has() -> None:
    """The check above is not vacuous: a character outside every font is reported."""

    def draw() -> None:
        with chart_style():
            fig = Figure()
            fig.subplots().set_title("平安\U0001f6a8")  # police-light emoji: in no font here
            fig.savefig(io.BytesIO(), format="png")

    assert _glyph_warnings(draw) != []


def test_empty_charts_say_so_instead_of_failing() -> None:
    for png in (
        burndown_chart(Burndown((), {})),
        late_by_village_chart(()),
        notifications_chart(()),
    ):
        assert png.startswith(PNG)


def test_write_report_names_files_by_date_and_leaves_no_temporary_files(tmp_path: Path) -> None:
    paths = write_report(sample(), tmp_path / "out")
    assert paths == ReportPaths(
        tmp_path / "out" / "report-20171106.html", tmp_path / "out" / "report-20171106.xlsx"
    )
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "report-20171106.html",
        "report-20171106.xlsx",
    ]


def test_percentages_keep_a_decimal_only_when_needed() -> None:
    assert [pct(1.0), pct(0.9), pct(0.8525), pct(None), pct(0)] == ["100%", "90%", "85.2%", "—",
                                                                    "0%"]  # fmt: skip

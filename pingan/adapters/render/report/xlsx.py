"""The report as an XLSX workbook for the annual 综治 assessment: full lists, real numbers.

Every text cell goes through safe_cell (a roster name typed as "=HYPERLINK(…)" stays text);
ratios are numbers formatted as percentages and dates are dates, so the assessors can sort,
filter and sum without retyping anything. The workbook is streamed (openpyxl write-only
mode): a list of tens of thousands of late items costs seconds, not minutes.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from openpyxl import Workbook
from openpyxl.drawing.image import Image

from pingan.adapters.render.messages import cn_date
from pingan.adapters.render.report.data import ReportData
from pingan.adapters.render.report.sheet import (
    BOLD,
    DATE,
    HEADER_FILL,
    HEADING_FONT,
    NOTE_FONT,
    PERCENT,
    RED_FILL,
    TITLE_ROWS,
    TOTAL_FILL,
    WRAP,
    Sheet,
)
from pingan.adapters.render.report.text import (
    CHANNEL_LABELS,
    KIND_LABELS,
    STATE_LABELS,
    ladder_text,
)
from pingan.core.gates import STATUS_LABELS, STATUSES
from pingan.core.scoring import DomainKpi

CHART_TITLES = {
    "coverage": "各领域创建覆盖率与达标率（对照目标）",
    "burndown": "报送义务状态变化",
    "villages": "逾期事项分布（按{grouping}）",
    "notifications": "通知投递情况（按渠道和状态）",
}


def _kpi_row(
    name: str, lead: str, k: DomainKpi, data: ReportData, awarded: int, red: int
) -> list[Any]:
    def met(flag: bool | None) -> str:
        return "—" if flag is None else ("是" if flag else "否")

    return [
        name,
        lead,
        k.cells,
        k.covered,
        k.coverage,
        data.coverage_target,
        met(k.coverage_met),
        k.coverage_shortfall,
        k.assessed,
        k.passed,
        k.vetoed,
        k.pass_rate if k.assessed else None,
        data.pass_rate_target,
        met(k.pass_rate_met if k.assessed else None),
        k.shortfall if k.assessed else None,
        awarded,
        red,
    ]


KPI_HEADERS = (
    "领域",
    "牵头单位",
    "创建单位",
    "已覆盖",
    "覆盖率",
    "覆盖率目标",
    "覆盖率达标",
    "尚差（覆盖）",
    "已验收",
    "达标",
    "一票否决",
    "达标率",
    "达标率目标",
    "达标率达标",
    "尚差（达标）",
    "已命名挂牌",
    "逾期未报",
)
KPI_FORMATS = {4: PERCENT, 5: PERCENT, 11: PERCENT, 12: PERCENT}


def _summary(wb: Workbook, data: ReportData) -> None:
    sheet = Sheet(wb, "汇总", (12, 16, 9, 9, 9, 10, 10, 11, 9, 9, 9, 9, 10, 10, 11, 10, 9))
    sheet.freeze(TITLE_ROWS + 3, 2)  # below the KPI header, right of the domain names
    sheet.title(
        f"{data.campaign_name} 创建情况统计表",
        f"统计截至 {cn_date(data.as_of)}｜编制：{data.office}｜"
        f"生成时间 {data.generated_at:%Y-%m-%d %H:%M}",
    )
    sheet.line([])
    sheet.table(
        KPI_HEADERS,
        [_kpi_row(d.name, d.lead, d.kpi, data, d.awarded, d.overdue) for d in data.domains],
        KPI_FORMATS,
    )
    total = _kpi_row(
        data.area, data.coordinator, data.overall, data, data.awarded, len(data.late_submissions)
    )
    sheet.line(total, font=BOLD, fill=TOTAL_FILL, formats=KPI_FORMATS)

    sheet.line([])
    sheet.line([f"报送义务（截至 {cn_date(data.as_of)}）"], font=HEADING_FONT)
    sheet.table(
        [*(STATUS_LABELS[s] for s in STATUSES), "合计"],
        [[*(data.obligations.get(s, 0) for s in STATUSES), sum(data.obligations.values())]],
    )
    sheet.line([])
    sheet.line(["已安排通知（按类型）"], font=HEADING_FONT)
    sheet.table(
        [KIND_LABELS.get(k, k) for k in data.notification_kinds] or ["（无）"],
        [list(data.notification_kinds.values()) or [0]],
    )
    sheet.line([])
    for note in (
        "口径：创建覆盖率 = 已报送自查报告的在册创建单位 ÷ 在册创建单位；"
        "达标率 = 考核达标单位 ÷ 已覆盖单位（以最近一轮验收结果为准）。",
        f"逐级督办：{ladder_text(data)}。",
    ):
        sheet.line([note], font=NOTE_FONT)


def _list_sheet(
    wb: Workbook,
    name: str,
    title: tuple[str, str],
    headers: Sequence[str],
    rows: Iterable[Sequence[Any]],
    widths: Sequence[float],
    formats: Mapping[int, str] | None = None,
) -> None:
    sheet = Sheet(wb, name, widths)
    sheet.freeze(TITLE_ROWS + 2)
    sheet.title(*title)
    head = sheet.table(headers, rows, formats)
    sheet.filter(head, len(headers))


def _red_items(wb: Workbook, data: ReportData) -> None:
    _list_sheet(
        wb,
        "逾期事项",
        (
            "逾期事项清单",
            f"截至 {cn_date(data.as_of)}：逾期未报 {len(data.late_submissions)} 项，"
            f"逾期未验收 {data.late_assessments} 项（考核组办理）",
        ),
        (
            "序号",
            "领域",
            data.org.grouping,
            "单位编码",
            "单位",
            "事项",
            "截止日期",
            "逾期工作日",
            "督办次数",
            "已报告至",
        ),
        (
            [
                i,
                r.domain,
                r.village,
                r.unit_code,
                r.unit_name,
                r.gate,
                r.due_on,
                r.days_overdue,
                r.level,
                r.told,
            ]
            for i, r in enumerate(data.red_items, start=1)
        ),
        (6, 12, 14, 14, 28, 40, 11, 10, 9, 22),
        {6: DATE},
    )


def _failed(wb: Workbook, data: ReportData) -> None:
    sheet = Sheet(wb, "未达标单位", (6, 12, 14, 14, 28, 9, 11, 8, 8, 10, 48, 12))
    sheet.freeze(TITLE_ROWS + 2)
    sheet.title(
        "考核未达标及一票否决单位",
        f"截至 {cn_date(data.as_of)}，以最近一轮验收为准，共 {len(data.failed_cells)} 个",
    )
    headers = (
        "序号",
        "领域",
        data.org.grouping,
        "单位编码",
        "单位",
        "验收轮次",
        "验收日期",
        "得分",
        "达标分",
        "结论",
        "原因",
        "考核人",
    )
    sheet.line(headers, font=BOLD, fill=HEADER_FILL, alignment=WRAP)
    head = sheet.row
    for i, f in enumerate(data.failed_cells, start=1):
        row = [
            i,
            f.domain,
            f.village,
            f.unit_code,
            f.unit_name,
            f.round,
            f.assessed_on,
            f.total,
            f.pass_mark,
            "一票否决" if f.vetoed else "未达标",
            "；".join(f.reasons),
            f.assessor or "",
        ]
        # A vetoed cell stands out the way the HTML marks it: the whole row tinted.
        sheet.line(row, fill=RED_FILL if f.vetoed else None, formats={6: DATE})
    sheet.filter(head, len(headers))


def _villages(wb: Workbook, data: ReportData) -> None:
    _list_sheet(
        wb,
        "逾期分布",
        (f"逾期事项分布（按{data.org.grouping}）", f"截至 {cn_date(data.as_of)}，报送事项"),
        (f"{data.org.grouping}编码", data.org.grouping, "逾期未报", "逾期补报", "合计"),
        (
            [v.code or "", v.name, v.overdue, v.done_late, v.overdue + v.done_late]
            for v in data.late_by_village
        ),
        (16, 24, 10, 10, 10),
    )


def _progress(wb: Workbook, data: ReportData) -> None:
    burn = data.burndown
    _list_sheet(
        wb,
        "义务进度",
        ("报送义务逐日状态", "每日各状态的报送义务数（项，含考核验收事项）"),
        ["日期", *(STATUS_LABELS[s] for s in STATUSES)],
        ([d, *(burn.series[s][i] for s in STATUSES)] for i, d in enumerate(burn.days)),
        (12, *(10 for _ in STATUSES)),
        {0: DATE},
    )


def _notifications(wb: Workbook, data: ReportData) -> None:
    _list_sheet(
        wb,
        "通知投递",
        ("通知投递情况", f"截至 {cn_date(data.as_of)} 已安排的通知，按渠道和状态"),
        ("渠道", "状态", "条数"),
        (
            [CHANNEL_LABELS.get(c.channel, c.channel), STATE_LABELS.get(c.state, c.state), c.count]
            for c in data.notifications
        ),
        (16, 22, 10),
    )


def _charts(wb: Workbook, charts: Mapping[str, bytes], grouping: str) -> None:
    sheet = Sheet(wb, "图表", ())
    for name, template in CHART_TITLES.items():
        title = template.format(grouping=grouping)
        png = charts.get(name)
        if png is None:
            continue
        sheet.line([title], font=HEADING_FONT)
        image = Image(io.BytesIO(png))
        # Charts are drawn at 144 dpi; show them about 960 px wide.
        scale = 960 / image.width
        image.width, image.height = round(image.width * scale), round(image.height * scale)
        sheet.ws.add_image(image, f"A{sheet.row + 1}")
        for _ in range(round(image.height / 20) + 2):  # rows are 20 px high by default
            sheet.line([])


def render_xlsx(data: ReportData, charts: Mapping[str, bytes] | None = None) -> bytes:
    wb = Workbook(write_only=True)
    _summary(wb, data)
    _red_items(wb, data)
    _failed(wb, data)
    _villages(wb, data)
    _progress(wb, data)
    _notifications(wb, data)
    if charts:
        _charts(wb, charts, data.org.grouping)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()

"""A short markdown summary of a report for the Prefect UI (artifact) and the CLI."""

from __future__ import annotations

from pingan.adapters.render.messages import cn_date
from pingan.adapters.render.report import ReportPaths
from pingan.adapters.render.report.data import ReportData, pct
from pingan.adapters.render.report.text import summary_text


def _met(flag: bool | None) -> str:
    return "" if flag is None else (" ✅" if flag else " ❌")


def report_markdown(data: ReportData, paths: ReportPaths) -> str:
    lines = [
        f"# {data.short_name}工作进展报告",
        f"**统计截至 {cn_date(data.as_of)}**（当前阶段：{data.phase or '—'}）",
        "",
        summary_text(data),
        "",
        f"目标：创建覆盖率 {pct(data.coverage_target)}，达标率 {pct(data.pass_rate_target)} 以上",
        "",
        "| 领域 | 创建单位 | 覆盖率 | 达标率 | 逾期未报 | 已命名 |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    rows = [(d.name, d.kpi, d.overdue, d.awarded) for d in data.domains]
    rows.append((data.area, data.overall, len(data.late_submissions), data.awarded))
    for name, k, red, awarded in rows:
        rate = f"{pct(k.pass_rate)}{_met(k.pass_rate_met)}" if k.assessed else "未验收"
        lines.append(
            f"| {name} | {k.cells:,} | {pct(k.coverage)}{_met(k.coverage_met)} | {rate} "
            f"| {red:,} | {awarded:,} |"
        )
    lines += [
        "",
        "## 报表文件",
        f"- 报告（HTML，含图表）：`{paths.html}`",
        f"- 考核统计表（XLSX）：`{paths.xlsx}`",
    ]
    return "\n".join(lines) + "\n"

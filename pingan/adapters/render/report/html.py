"""The report as ONE self-contained HTML file for a 综治委 reader.

Charts are embedded as base64 PNG, the stylesheet is inline, and nothing is fetched from
anywhere: the file can be mailed, archived or opened offline. Every value goes through
Jinja2's autoescaping — unit names come from rosters typed by many hands.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

from jinja2 import Environment, StrictUndefined

from pingan.adapters.render.messages import cn_date
from pingan.adapters.render.report.data import ReportData, pct
from pingan.adapters.render.report.template import TEMPLATE
from pingan.adapters.render.report.text import KIND_LABELS, ladder_text, summary_text
from pingan.core.scoring import DomainKpi

# Longer lists stay in the workbook; a page of thousands of rows helps no reader.
HTML_ROW_LIMIT = 300
WEEKDAYS = "一二三四五六日"


def _env() -> Environment:
    return Environment(autoescape=True, undefined=StrictUndefined, trim_blocks=True)


def _mark(met: bool | None) -> tuple[str, str]:
    """(css tone, word) for a target check."""
    if met is None:
        return "na", "—"
    return ("ok", "达标") if met else ("bad", "未达")


def _domain_row(
    name: str, lead: str, k: DomainKpi, awarded: int, overdue: int, total: bool
) -> dict[str, Any]:
    cov_tone, cov_mark = _mark(k.coverage_met)
    pass_tone, pass_mark = _mark(k.pass_rate_met if k.assessed else None)
    return {
        "name": name,
        "lead": lead,
        "cells": f"{k.cells:,}",
        "covered": f"{k.covered:,}",
        "coverage": pct(k.coverage),
        "coverage_tone": cov_tone,
        "coverage_mark": cov_mark,
        "assessed": f"{k.assessed:,}",
        "passed": f"{k.passed:,}",
        "vetoed": f"{k.vetoed:,}",
        # Before acceptance a 0% pass rate would read as failure: say it is not known yet.
        "pass_rate": pct(k.pass_rate) if k.assessed else "未验收",
        "pass_tone": pass_tone,
        "pass_mark": pass_mark if k.assessed else "",
        "shortfall": f"{k.shortfall:,}" if k.assessed else "—",
        "awarded": f"{awarded:,}",
        "overdue": f"{overdue:,}",
        "total": total,
    }


def _cards(data: ReportData) -> list[dict[str, Any]]:
    k = data.overall
    sent = sum(c.count for c in data.notifications if c.state == "sent")
    stuck = sum(c.count for c in data.notifications if c.state in ("failed", "dead"))
    total = sum(c.count for c in data.notifications)
    red = len(data.late_submissions)
    top = data.red_at_coordinator
    cov_tone, _ = _mark(k.coverage_met)
    pass_tone, _ = _mark(k.pass_rate_met if k.assessed else None)
    return [
        {
            "label": "创建覆盖率",
            "value": pct(k.coverage),
            "sub": [
                f"已覆盖 {k.covered:,} / {k.cells:,}",
                f"目标 {pct(data.coverage_target)}，"
                + (f"尚差 {k.coverage_shortfall:,} 个" if k.coverage_met is False else "已达到"),
            ],
            "tone": cov_tone,
        },
        {
            "label": "达标率",
            "value": pct(k.pass_rate) if k.assessed else "未验收",
            "sub": [
                f"达标 {k.passed:,} / 已覆盖 {k.covered:,}",
                f"目标 {pct(data.pass_rate_target)} 以上"
                + (f"，尚差 {k.shortfall:,} 个" if k.assessed and k.pass_rate_met is False else ""),
            ],
            "tone": pass_tone,
        },
        {
            "label": "逾期未报事项",
            "value": f"{red:,}",
            "sub": [f"涉及 {data.red_units:,} 个单位", f"已报{data.coordinator} {top:,} 项"],
            "tone": "bad" if red else "ok",
        },
        {
            "label": "已命名挂牌",
            "value": f"{data.awarded:,}",
            "sub": [f"考核达标 {k.passed:,} 个", f"一票否决 {k.vetoed:,} 个"],
            "tone": "ok" if data.awarded else "na",
        },
        {
            "label": "通知已送达",
            "value": f"{sent:,}",
            "sub": [f"投递 {total:,} 条", f"失败待重试或已放弃 {stuck:,} 条"],
            "tone": "bad" if stuck else ("ok" if sent else "na"),
        },
    ]


def _domain_rows(data: ReportData) -> list[dict[str, Any]]:
    rows = [_domain_row(d.name, d.lead, d.kpi, d.awarded, d.overdue, False) for d in data.domains]
    rows.append(
        _domain_row(
            data.area,
            data.coordinator,
            data.overall,
            data.awarded,
            len(data.late_submissions),
            True,
        )
    )
    return rows


def _red_rows(data: ReportData) -> list[dict[str, Any]]:
    return [
        {
            "domain": r.domain,
            "village": r.village,
            "unit": r.unit_name,
            "gate": r.gate,
            "due_on": r.due_on.isoformat(),
            "days": r.days_overdue,
            "level": f"{r.level} 次" if r.level else "—",
            "told": r.told,
            "severe": r.target == "coordinator",
        }
        for r in data.late_submissions[:HTML_ROW_LIMIT]
    ]


def _failed_rows(data: ReportData) -> list[dict[str, Any]]:
    return [
        {
            "domain": f.domain,
            "village": f.village,
            "unit": f.unit_name,
            "round": f.round,
            "assessed_on": f.assessed_on.isoformat(),
            "total": f"{f.total:g}",
            "vetoed": f.vetoed,
            "reasons": "；".join(f.reasons),
        }
        for f in data.failed_cells[:HTML_ROW_LIMIT]
    ]


def _masthead(data: ReportData) -> dict[str, Any]:
    """The page's title block: who reports, on what, as of when."""
    return {
        "title": f"{data.short_name}工作进展报告",
        "campaign_name": data.campaign_name,
        "office": data.office,
        "issuer": data.issuer,
        "as_of_cn": cn_date(data.as_of),
        "weekday": f"星期{WEEKDAYS[data.as_of.weekday()]}",
        "phase": data.phase or ("尚未开始" if data.as_of < data.starts_on else "已结束"),
        "period": f"{cn_date(data.starts_on)}—{cn_date(data.ends_on)}",
        "start_cn": cn_date(min(data.starts_on, data.as_of)),
        "generated": f"{data.generated_at:%Y-%m-%d %H:%M}",
    }


def _notes(data: ReportData) -> dict[str, str]:
    """The sentences under the notification and village charts."""
    from pingan.adapters.render.report.charts import TOP_VILLAGES

    kinds = "，".join(
        f"{KIND_LABELS.get(kind, kind)} {n:,} 条" for kind, n in data.notification_kinds.items()
    )
    more = len(data.late_by_village) - TOP_VILLAGES
    return {
        "kinds": f"已安排通知：{kinds}" if kinds else "尚未安排任何通知",
        "receipts": (
            f"最近一条提醒或督办已送达的 {data.told_units:,} 个单位中，{data.seen_units:,} 个已签收"
            f"（打开过本单位专用报送链接），{data.told_units - data.seen_units:,} 个未签收。"
            if data.told_units
            else ""
        ),
        "villages_note": (
            f"图中列出逾期事项最多的 {TOP_VILLAGES} 处，另有 {more} 处见 XLSX 工作簿"
            "“逾期分布”工作表。"
            if more > 0
            else ""
        ),
    }


def render_html(data: ReportData, charts: Mapping[str, bytes]) -> str:
    """The report page; ``charts`` are PNG bytes keyed as
    pingan.adapters.render.report.charts names."""
    return (
        _env()
        .from_string(TEMPLATE)
        .render(
            **_masthead(data),
            **_notes(data),
            summary=summary_text(data),
            cards=_cards(data),
            domains=_domain_rows(data),
            coverage_target=pct(data.coverage_target),
            pass_rate_target=pct(data.pass_rate_target),
            charts={name: base64.b64encode(png).decode("ascii") for name, png in charts.items()},
            red_total=f"{len(data.late_submissions):,}",
            red_rows=_red_rows(data),
            red_more=max(len(data.late_submissions) - HTML_ROW_LIMIT, 0),
            late_assessments=data.late_assessments,
            failed_total=f"{len(data.failed_cells):,}",
            failed_rows=_failed_rows(data),
            failed_more=max(len(data.failed_cells) - HTML_ROW_LIMIT, 0),
            failed_empty=(
                f"{data.acceptance}。" if not data.overall.assessed else "所有已验收单位均已达标。"
            ),
            ladder=ladder_text(data),
            org=data.org.as_context(),
        )
    )

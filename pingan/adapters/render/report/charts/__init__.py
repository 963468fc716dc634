"""The report's four charts as PNG bytes: matplotlib's Agg canvas, a CJK font, no pyplot.

Pure rendering: data in, bytes out; no global pyplot state, so charts can be drawn from any
thread. Titles live in the HTML around the pictures; the pictures carry axes, labels and
legends in Chinese, drawn with a CJK font so no character comes out as a box.
"""

from __future__ import annotations

from pathlib import Path

from pingan.adapters.render.report.charts.burndown import burndown_chart
from pingan.adapters.render.report.charts.coverage import coverage_chart
from pingan.adapters.render.report.charts.notifications import notifications_chart
from pingan.adapters.render.report.charts.villages import TOP_VILLAGES, late_by_village_chart
from pingan.adapters.render.report.data import ReportData

CHART_NAMES = ("coverage", "burndown", "villages", "notifications")


def all_charts(data: ReportData, font_path: Path | None = None) -> dict[str, bytes]:
    """The four charts of a ReportData, keyed by CHART_NAMES; ``font_path`` is the configured
    CJK font (None: discover one)."""
    total_label = data.area
    return {
        "coverage": coverage_chart(
            data.domains,
            data.overall,
            data.coverage_target,
            data.pass_rate_target,
            total_label,
            font_path=font_path,
        ),
        "burndown": burndown_chart(data.burndown, data.phases, font_path=font_path),
        "villages": late_by_village_chart(data.late_by_village, font_path=font_path),
        "notifications": notifications_chart(data.notifications, font_path=font_path),
    }


__all__ = [
    "CHART_NAMES",
    "TOP_VILLAGES",
    "all_charts",
    "burndown_chart",
    "coverage_chart",
    "late_by_village_chart",
    "notifications_chart",
]

"""The progress report: one self-contained HTML page and one XLSX workbook per report date.

``write_report`` draws the charts once and writes both files atomically (a temporary file
in the same directory, then a rename), so a reader or a mail attachment never sees half a
report, and re-running for the same date replaces the files whole.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pingan.adapters.render.files import atomic_output
from pingan.adapters.render.report.data import ReportData


@dataclass(frozen=True)
class ReportPaths:
    html: Path
    xlsx: Path


def report_name(data: ReportData, suffix: str) -> str:
    return f"report-{data.as_of:%Y%m%d}.{suffix}"


def write_report(data: ReportData, out_dir: Path, *, font_path: Path | None = None) -> ReportPaths:
    """Both files for ``data`` under ``out_dir``; ``font_path`` is the configured CJK font of
    the charts (None: discover one)."""
    from pingan.adapters.render.report.charts import all_charts
    from pingan.adapters.render.report.html import render_html
    from pingan.adapters.render.report.xlsx import render_xlsx

    charts = all_charts(data, font_path)
    html = render_html(data, charts).encode("utf-8")
    xlsx = render_xlsx(data, charts)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = ReportPaths(
        out_dir / report_name(data, "html"),
        out_dir / report_name(data, "xlsx"),
    )
    for path, content in ((paths.html, html), (paths.xlsx, xlsx)):
        with atomic_output(path) as fh:
            fh.write(content)
    return paths


__all__ = ["ReportData", "ReportPaths", "write_report"]

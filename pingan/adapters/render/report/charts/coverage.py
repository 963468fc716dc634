"""Chart 1: coverage and pass rate per domain, against the targets."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure
from matplotlib.ticker import PercentFormatter

from pingan.adapters.render.report.charts.style import (
    GREEN,
    GREY,
    INK,
    RED,
    TARGET,
    WIDTH_IN,
    chart_style,
    png,
)
from pingan.adapters.render.report.data import DomainReport, pct
from pingan.core.scoring import DomainKpi


@dataclass(frozen=True)
class _Panel:
    title: str
    values: list[float | None]
    met: list[bool | None]
    labels: list[str]
    target: float
    missing: str  # said across the panel when no bar has a value


def _panels(
    names: list[str], figures: list[DomainKpi], coverage_target: float, pass_rate_target: float
) -> tuple[_Panel, _Panel]:
    return (
        _Panel(
            "创建覆盖率（已报送自查报告的单位 ÷ 创建单位）",
            [k.coverage for k in figures],
            [k.coverage_met for k in figures],
            [f"{n}\n{k.covered}/{k.cells}" for n, k in zip(names, figures, strict=True)],
            coverage_target,
            "尚无创建单位",
        ),
        _Panel(
            "达标率（考核达标的单位 ÷ 已覆盖单位）",
            [k.pass_rate if k.assessed else None for k in figures],
            [k.pass_rate_met if k.assessed else None for k in figures],
            [f"{n}\n{k.passed}/{k.covered}" for n, k in zip(names, figures, strict=True)],
            pass_rate_target,
            "尚无考核验收结果",
        ),
    )


def _draw_bars_and_target(ax: Any, panel: _Panel) -> None:
    values = panel.values
    xs = range(len(values))
    colours = [GREEN if m else RED if m is not None else GREY for m in panel.met]
    # The whole-street bar is the one a reader compares with the target: mark it.
    edges = ["none"] * (len(values) - 1) + [INK]
    ax.bar(
        xs,
        [v or 0 for v in values],
        width=0.62,
        color=colours,
        edgecolor=edges,
        linewidth=1.2,
    )
    ax.axhline(panel.target, color=TARGET, linestyle="--", linewidth=1.2)
    # The target's label sits right of the last bar, where no value label can be.
    last = len(values) - 1
    ax.set_xlim(-0.6, last + 1.0)
    ax.text(
        last + 0.42,
        panel.target,
        f"目标\n{pct(panel.target)}",
        color=TARGET,
        va="center",
        ha="left",
        fontsize=9,
        linespacing=1.1,
    )
    if all(v is None for v in values):
        ax.text(last / 2, 0.45, panel.missing, ha="center", va="center", fontsize=12, color=GREY)


def _draw_panel(ax: Any, panel: _Panel) -> None:
    _draw_bars_and_target(ax, panel)
    xs = range(len(panel.values))
    for x, v in zip(xs, panel.values, strict=True):
        if v is None:
            continue
        # Inside the bar's top when it is tall enough, so no label sits on the
        # target line; above a short bar.
        inside = v >= 0.15
        ax.text(
            x,
            v - 0.015 if inside else v + 0.015,
            pct(v),
            ha="center",
            va="top" if inside else "bottom",
            fontsize=9.5,
            color="white" if inside else INK,
        )
    ax.set_xticks(list(xs), panel.labels, fontsize=9)
    ax.set_title(panel.title, loc="left", fontsize=10.5)
    ax.set_ylim(0, 1.18)
    ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    ax.grid(axis="x", visible=False)


def coverage_chart(
    domains: Sequence[DomainReport],
    total: DomainKpi,
    coverage_target: float,
    pass_rate_target: float,
    total_label: str = "合计",
    *,
    font_path: Path | None = None,
) -> bytes:
    names = [d.name for d in domains] + [total_label]
    figures = [d.kpi for d in domains] + [total]
    with chart_style(font_path):
        fig = Figure(figsize=(WIDTH_IN, 3.9))
        axes = fig.subplots(1, 2, sharey=True)
        panels = _panels(names, figures, coverage_target, pass_rate_target)
        for ax, panel in zip(axes, panels, strict=True):
            _draw_panel(ax, panel)
        fig.tight_layout(w_pad=2.5)
        return png(fig)

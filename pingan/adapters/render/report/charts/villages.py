"""Chart 3: late items by village."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from pingan.adapters.render.report.charts.style import (
    AMBER,
    INK,
    RED,
    WIDTH_IN,
    chart_style,
    empty,
    legend_on_top,
    png,
)
from pingan.adapters.render.report.data import VillageLate

TOP_VILLAGES = 25


def late_by_village_chart(
    villages: Sequence[VillageLate], top: int = TOP_VILLAGES, *, font_path: Path | None = None
) -> bytes:
    """The ``top`` villages with the most late items (the report says how many more)."""
    rows = list(villages[:top])
    height = max(2.4, 0.34 * len(rows) + 1.4)
    with chart_style(font_path):
        fig = Figure(figsize=(WIDTH_IN, height))
        ax = fig.subplots()
        if not rows:
            empty(ax, "截至统计日期，没有逾期事项")
            return png(fig)
        rows.reverse()  # barh draws bottom-up; the worst village goes on top
        ys = range(len(rows))
        names = [v.name for v in rows]
        overdue = [v.overdue for v in rows]
        late = [v.done_late for v in rows]
        ax.barh(ys, overdue, height=0.62, color=RED, label="逾期未报")
        ax.barh(ys, late, left=overdue, height=0.62, color=AMBER, label="逾期补报")
        widest = max(o + d for o, d in zip(overdue, late, strict=True)) or 1
        for y, o, d in zip(ys, overdue, late, strict=True):
            ax.text(
                o + d + widest * 0.01,
                y,
                f"未报 {o}｜补报 {d}",
                va="center",
                fontsize=8.5,
                color=INK,
            )
        ax.set_yticks(list(ys), names, fontsize=9.5)
        ax.set_ylim(-0.6, len(rows) - 0.4)
        ax.set_xlim(0, widest * 1.2)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("事项（项）")
        ax.grid(axis="y", visible=False)
        legend_on_top(ax, 2)
        fig.tight_layout()
        return png(fig)

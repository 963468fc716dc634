"""Chart 2: obligations by status over time."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator

from pingan.adapters.render.report.charts.style import (
    BLUE,
    GREEN,
    GREY,
    INK,
    LIGHT_GREEN,
    LIGHT_GREY,
    RED,
    WIDTH_IN,
    YELLOW,
    chart_style,
    empty,
    png,
)
from pingan.adapters.render.report.data import Burndown
from pingan.core.gates import STATUS_LABELS, Status

# Bottom to top: what is finished lies at the bottom, so the open work above it burns down.
BURN_ORDER: tuple[Status, ...] = (
    "done",
    "done_late",
    "waived",
    "overdue",
    "due_soon",
    "open",
    "not_open",
)
BURN_COLOURS: Mapping[Status, str] = {
    "done": GREEN,
    "done_late": LIGHT_GREEN,
    "waived": GREY,
    "overdue": RED,
    "due_soon": YELLOW,
    "open": BLUE,
    "not_open": LIGHT_GREY,
}


def _stack(ax: Any, burn: Burndown, days: list[date]) -> tuple[list[float], list[Status]]:
    """The stacked areas over ``days`` (the report's days and the day after the last);
    returns the x values (day numbers) and the statuses shown."""
    series = {s: list(burn.series[s]) for s in BURN_ORDER}
    series = {s: [*v, v[-1]] for s, v in series.items()}
    # Day numbers as x: plain floats keep matplotlib's date machinery out of the way.
    xs = [float(d.toordinal()) for d in days]
    last = {s: burn.series[s][-1] for s in BURN_ORDER}
    shown = [s for s in BURN_ORDER if any(series[s])]
    ax.stackplot(
        xs,
        *(series[s] for s in shown),
        colors=[BURN_COLOURS[s] for s in shown],
        labels=[f"{STATUS_LABELS[s]} {last[s]:,}" for s in shown],
        linewidth=0,
        alpha=0.92,
        step="post",
    )
    top = max(sum(series[s][i] for s in BURN_ORDER) for i in range(len(days))) or 1
    ax.set_ylim(0, top * 1.04)
    ax.set_xlim(xs[0], xs[-1])
    return xs, shown


def _phase_labels(
    ax: Any, phases: Sequence[tuple[str, date, date]], days: list[date], span: float
) -> None:
    narrow = 0
    for name, start, end in phases:
        if end < days[0] or start >= days[-1]:
            continue
        lo = max(start, days[0]).toordinal()
        hi = min(end + timedelta(days=1), days[-1]).toordinal()
        ax.axvline(lo, color="white", linewidth=1.2, alpha=0.9)
        # Short phases side by side (acceptance, plaque) would print over each other:
        # their labels take turns on two lines.
        if (hi - lo) / span < 0.1:
            level, narrow = narrow % 2, narrow + 1
        else:
            level, narrow = 0, 0
        ax.text(
            (lo + hi) / 2,
            1.015 + 0.06 * level,
            name,
            transform=ax.get_xaxis_transform(),
            ha="center",
            va="bottom",
            fontsize=9,
            color=INK,
        )


def burndown_chart(
    burn: Burndown,
    phases: Sequence[tuple[str, date, date]] = (),
    *,
    font_path: Path | None = None,
) -> bytes:
    days = list(burn.days)
    with chart_style(font_path):
        fig = Figure(figsize=(WIDTH_IN, 4.3))
        ax = fig.subplots()
        if not days:
            empty(ax, "尚无报送义务")
            return png(fig)
        # Counts hold for a whole day: draw steps, and give the last day its width too.
        days.append(days[-1] + timedelta(days=1))
        xs, shown = _stack(ax, burn, days)
        _phase_labels(ax, phases, days, max(xs[-1] - xs[0], 1.0))
        ticks, labels = _date_ticks(days[0], days[-2])
        ax.set_xticks([float(t.toordinal()) for t in ticks], labels)
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.yaxis.set_major_formatter(FuncFormatter(lambda y, _: f"{int(y):,}"))
        ax.set_ylabel("报送义务（项）")
        ax.grid(axis="x", visible=False)
        ax.legend(
            loc="upper center",
            bbox_to_anchor=(0.5, -0.09),
            ncol=len(shown),
            handlelength=1.2,
            columnspacing=1.4,
        )
        fig.tight_layout()
        return png(fig)


def _date_ticks(first: date, last: date) -> tuple[list[date], list[str]]:
    """Month starts ("6月") over a long window, about eight days ("5月8日") over a short one."""
    if (last - first).days > 62:
        ticks = []
        d = date(first.year, first.month, 1)
        while d <= last:
            if d >= first:
                ticks.append(d)
            d = date(d.year + d.month // 12, d.month % 12 + 1, 1)
        return ticks, [f"{t.month}月" for t in ticks]
    step = max(1, (last - first).days // 8)
    ticks = [first + timedelta(days=i) for i in range(0, (last - first).days + 1, step)]
    return ticks, [f"{t.month}月{t.day}日" for t in ticks]

"""Chart 4: notifications by channel and state."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator

from pingan.adapters.render.report.charts.style import (
    AMBER,
    BLUE,
    GREEN,
    GREY,
    INK,
    LIGHT_BLUE,
    RED,
    WIDTH_IN,
    chart_style,
    empty,
    legend_on_top,
    png,
)
from pingan.adapters.render.report.data import ChannelCount
from pingan.adapters.render.report.text import CHANNEL_LABELS, STATE_LABELS

STATE_COLOURS: Mapping[str, str] = {
    "sent": GREEN,
    "queued": BLUE,
    "leased": LIGHT_BLUE,
    "failed": AMBER,
    "dead": RED,
    "cancelled": GREY,
}


def _by_channel(
    counts: Sequence[ChannelCount],
) -> tuple[dict[str, dict[str, int]], list[str], list[str]]:
    """({channel: {state: n}}, channels in display order, states in display order)."""
    by_channel: dict[str, dict[str, int]] = {}
    for c in counts:
        by_channel.setdefault(c.channel, {})[c.state] = (
            by_channel.get(c.channel, {}).get(c.state, 0) + c.count
        )
    order = [c for c in CHANNEL_LABELS if c in by_channel] + sorted(
        c for c in by_channel if c not in CHANNEL_LABELS
    )
    states = [s for s in STATE_LABELS if any(s in v for v in by_channel.values())] + sorted(
        {s for v in by_channel.values() for s in v} - set(STATE_LABELS)
    )
    return by_channel, order, states


def _draw_bars(
    ax: Any, by_channel: dict[str, dict[str, int]], order: list[str], states: list[str]
) -> None:
    ys = list(range(len(order)))
    totals = [sum(by_channel[c].values()) for c in order]
    widest = max(totals) or 1
    left = [0] * len(order)
    for state in states:
        values = [by_channel[c].get(state, 0) for c in order]
        ax.barh(
            ys,
            values,
            left=left,
            height=0.58,
            color=STATE_COLOURS.get(state, INK),
            label=STATE_LABELS.get(state, state),
        )
        for y, v, x in zip(ys, values, left, strict=True):
            if v and v / widest > 0.06:
                ax.text(
                    x + v / 2, y, f"{v:,}", ha="center", va="center", fontsize=8.5, color="white"
                )
        left = [a + b for a, b in zip(left, values, strict=True)]
    for y, t in zip(ys, totals, strict=True):
        ax.text(t + widest * 0.01, y, f"共 {t:,}", va="center", fontsize=9, color=INK)
    ax.set_yticks(ys, [CHANNEL_LABELS.get(c, c) for c in order], fontsize=9.5)
    ax.set_xlim(0, widest * 1.14)


def notifications_chart(counts: Sequence[ChannelCount], *, font_path: Path | None = None) -> bytes:
    by_channel, order, states = _by_channel(counts)
    height = max(2.2, 0.5 * len(order) + 1.5)
    with chart_style(font_path):
        fig = Figure(figsize=(WIDTH_IN, height))
        ax = fig.subplots()
        if not order:
            empty(ax, "截至统计日期，尚未发出通知")
            return png(fig)
        order.reverse()
        _draw_bars(ax, by_channel, order, states)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: f"{int(x):,}"))
        ax.set_xlabel("投递（条）")
        ax.grid(axis="y", visible=False)
        legend_on_top(ax, len(states))
        fig.tight_layout()
        return png(fig)

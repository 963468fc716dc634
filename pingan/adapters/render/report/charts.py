"""The report's four charts as PNG bytes: matplotlib's Agg canvas, a CJK font, no pyplot.

Pure rendering: data in, bytes out; no global pyplot state, so charts can be drawn from any
thread. Titles live in the HTML around the pictures; the pictures carry axes, labels and
legends in Chinese, drawn with a CJK font so no character comes out as a box.
"""

from __future__ import annotations

import dataclasses
import io
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import date, timedelta
from functools import lru_cache
from typing import Any

from matplotlib import font_manager, rc_context
from matplotlib.figure import Figure
from matplotlib.ft2font import FT2Font
from matplotlib.ticker import FuncFormatter, MaxNLocator, PercentFormatter

from pingan.adapters.render.report.data import (
    NO_CHANNEL,
    Burndown,
    ChannelCount,
    DomainReport,
    ReportData,
    VillageLate,
    pct,
)
from pingan.core.gates import STATUS_LABELS, Status
from pingan.core.scoring import DomainKpi

DPI = 144
TOP_VILLAGES = 25
WIDTH_IN = 10.0

GREEN = "#2e7d32"
LIGHT_GREEN = "#8bc34a"
BLUE = "#1e88e5"
LIGHT_BLUE = "#90caf9"
YELLOW = "#f9a825"
AMBER = "#ffb300"
RED = "#c62828"
GREY = "#9e9e9e"
LIGHT_GREY = "#e0e0e0"
INK = "#37474f"
TARGET = "#8e0000"

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
CHANNEL_LABELS: Mapping[str, str] = {
    "email": "电子邮件",
    "wecom": "企业微信",
    "dingtalk": "钉钉",
    "webhook": "推送地址",
    "file": "文件（演示）",
    NO_CHANNEL: "未能投递",
}
STATE_LABELS: Mapping[str, str] = {
    "sent": "已送达",
    "queued": "待发",
    "leased": "发送中",
    "failed": "失败待重试",
    "dead": "已放弃",
    "cancelled": "已取消（事项已办结）",
}
STATE_COLOURS: Mapping[str, str] = {
    "sent": GREEN,
    "queued": BLUE,
    "leased": LIGHT_BLUE,
    "failed": AMBER,
    "dead": RED,
    "cancelled": GREY,
}


def _font_path() -> str:
    """The one CJK font of PDFs and charts (PINGAN_FONT_PATH, else found on the system)."""
    from pingan.adapters.render.fonts import matplotlib_font_properties

    return str(matplotlib_font_properties().get_file())


@lru_cache(maxsize=1)
def cjk_family() -> str:
    """Register the CJK font with matplotlib once; returns its family name.

    A font with a single weight (WenQuanYi Zen Hei is "medium") makes matplotlib log a
    warning for every normal or bold text; entries for those weights pointing at the same
    file keep the log quiet (glyphs are the same either way).
    """
    path = _font_path()
    base = font_manager.ttfFontProperty(FT2Font(path))
    for weight in (400, 700):
        font_manager.fontManager.ttflist.append(dataclasses.replace(base, weight=weight))
    font_manager.fontManager.addfont(path)  # also clears matplotlib's lookup cache
    return base.name


@contextmanager
def _style() -> Iterator[None]:
    with rc_context(
        {
            "font.family": [cjk_family(), "DejaVu Sans"],
            "font.size": 10,
            "axes.unicode_minus": False,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "axes.edgecolor": "#b0bec5",
            "axes.labelcolor": INK,
            "axes.titlesize": 11,
            "axes.titlecolor": INK,
            "xtick.color": INK,
            "ytick.color": INK,
            "axes.grid": True,
            "grid.color": "#eceff1",
            "grid.linewidth": 0.8,
            "axes.axisbelow": True,
            "legend.frameon": False,
            "legend.fontsize": 9,
        }
    ):
        yield


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, bbox_inches="tight", facecolor="white")
    return buf.getvalue()


def _empty(ax: Any, text: str) -> None:
    ax.set_axis_off()
    ax.text(0.5, 0.5, text, ha="center", va="center", fontsize=12, color=GREY)


# --- 1. coverage and pass rate per domain vs targets ----------------------------------------


def coverage_chart(
    domains: Sequence[DomainReport],
    total: DomainKpi,
    coverage_target: float,
    pass_rate_target: float,
    total_label: str = "合计",
) -> bytes:
    names = [d.name for d in domains] + [total_label]
    figures = [d.kpi for d in domains] + [total]
    with _style():
        fig = Figure(figsize=(WIDTH_IN, 3.9))
        axes = fig.subplots(1, 2, sharey=True)
        panels = (
            (
                axes[0],
                "创建覆盖率（已报送自查报告的单位 ÷ 创建单位）",
                [k.coverage for k in figures],
                [k.coverage_met for k in figures],
                [f"{n}\n{k.covered}/{k.cells}" for n, k in zip(names, figures, strict=True)],
                coverage_target,
                "尚无创建单位",
            ),
            (
                axes[1],
                "达标率（考核达标的单位 ÷ 已覆盖单位）",
                [k.pass_rate if k.assessed else None for k in figures],
                [k.pass_rate_met if k.assessed else None for k in figures],
                [f"{n}\n{k.passed}/{k.covered}" for n, k in zip(names, figures, strict=True)],
                pass_rate_target,
                "尚无考核验收结果",
            ),
        )
        for ax, title, values, met, labels, target, missing in panels:
            xs = range(len(values))
            colours = [GREEN if m else RED if m is not None else GREY for m in met]
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
            ax.axhline(target, color=TARGET, linestyle="--", linewidth=1.2)
            # The target's label sits right of the last bar, where no value label can be.
            last = len(values) - 1
            ax.set_xlim(-0.6, last + 1.0)
            ax.text(
                last + 0.42,
                target,
                f"目标\n{pct(target)}",
                color=TARGET,
                va="center",
                ha="left",
                fontsize=9,
                linespacing=1.1,
            )
            if all(v is None for v in values):
                ax.text(
                    last / 2,
                    0.45,
                    missing,
                    ha="center",
                    va="center",
                    fontsize=12,
                    color=GREY,
                )
            for x, v in zip(xs, values, strict=True):
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
            ax.set_xticks(list(xs), labels, fontsize=9)
            ax.set_title(title, loc="left", fontsize=10.5)
            ax.set_ylim(0, 1.18)
            ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
            ax.grid(axis="x", visible=False)
        fig.tight_layout(w_pad=2.5)
        return _png(fig)


# --- 2. obligations by status over time ------------------------------------------------------


def burndown_chart(burn: Burndown, phases: Sequence[tuple[str, date, date]] = ()) -> bytes:
    days = list(burn.days)
    with _style():
        fig = Figure(figsize=(WIDTH_IN, 4.3))
        ax = fig.subplots()
        if not days:
            _empty(ax, "尚无报送义务")
            return _png(fig)
        series = {s: list(burn.series[s]) for s in BURN_ORDER}
        # Counts hold for a whole day: draw steps, and give the last day its width too.
        days.append(days[-1] + timedelta(days=1))
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
        span = max(xs[-1] - xs[0], 1.0)
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
        return _png(fig)


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


# --- 3. late items by village ----------------------------------------------------------------


def late_by_village_chart(villages: Sequence[VillageLate], top: int = TOP_VILLAGES) -> bytes:
    """The ``top`` villages with the most late items (the report says how many more)."""
    rows = list(villages[:top])
    height = max(2.4, 0.34 * len(rows) + 1.4)
    with _style():
        fig = Figure(figsize=(WIDTH_IN, height))
        ax = fig.subplots()
        if not rows:
            _empty(ax, "截至统计日期，没有逾期事项")
            return _png(fig)
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
        _legend_on_top(ax, 2)
        fig.tight_layout()
        return _png(fig)


def _legend_on_top(ax: Any, columns: int) -> None:
    ax.legend(
        loc="lower left",
        bbox_to_anchor=(0.0, 1.0),
        ncol=columns,
        handlelength=1.2,
        columnspacing=1.4,
        borderaxespad=0.3,
    )


# --- 4. notifications by channel and state ---------------------------------------------------


def notifications_chart(counts: Sequence[ChannelCount]) -> bytes:
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
    height = max(2.2, 0.5 * len(order) + 1.5)
    with _style():
        fig = Figure(figsize=(WIDTH_IN, height))
        ax = fig.subplots()
        if not order:
            _empty(ax, "截至统计日期，尚未发出通知")
            return _png(fig)
        order.reverse()
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
                        x + v / 2,
                        y,
                        f"{v:,}",
                        ha="center",
                        va="center",
                        fontsize=8.5,
                        color="white",
                    )
            left = [a + b for a, b in zip(left, values, strict=True)]
        for y, t in zip(ys, totals, strict=True):
            ax.text(t + widest * 0.01, y, f"共 {t:,}", va="center", fontsize=9, color=INK)
        ax.set_yticks(ys, [CHANNEL_LABELS.get(c, c) for c in order], fontsize=9.5)
        ax.set_xlim(0, widest * 1.14)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: f"{int(x):,}"))
        ax.set_xlabel("投递（条）")
        ax.grid(axis="y", visible=False)
        _legend_on_top(ax, len(states))
        fig.tight_layout()
        return _png(fig)


CHART_NAMES = ("coverage", "burndown", "villages", "notifications")


def all_charts(data: ReportData) -> dict[str, bytes]:
    """The four charts of a ReportData, keyed by CHART_NAMES."""
    total_label = data.area
    return {
        "coverage": coverage_chart(
            data.domains, data.overall, data.coverage_target, data.pass_rate_target, total_label
        ),
        "burndown": burndown_chart(data.burndown, data.phases),
        "villages": late_by_village_chart(data.late_by_village),
        "notifications": notifications_chart(data.notifications),
    }

"""The leader's view's chart, drawn on the server as inline SVG: no script, no outside
file, nothing the portal's Content-Security-Policy would block (presentation attributes
only, no style attributes)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from markupsafe import Markup, escape

from pingan.adapters.db.reporting.leader import Trend

WIDTH, HEIGHT = 360.0, 200.0
LEFT, RIGHT, TOP, BOTTOM = 36.0, 10.0, 12.0, 34.0
COVERAGE, PASSED, GRID = "#0969da", "#1a7f37", "#d0d7de"


@dataclass(frozen=True)
class Series:
    label: str
    colour: str
    values: tuple[float | None, ...]  # ratios 0..1, one per day


def _ratio(n: int, d: int) -> float | None:
    return n / d if d else None


def trend_series(trend: Trend) -> tuple[Series, Series]:
    """Coverage (covered / cells) and pass rate (passed / covered) on each day."""
    coverage = tuple(_ratio(c, trend.cells) for c in trend.covered)
    passed = tuple(_ratio(p, c) for p, c in zip(trend.passed, trend.covered, strict=True))
    return Series("覆盖率", COVERAGE, coverage), Series("达标率", PASSED, passed)


def _x(i: int, n: int) -> float:
    return LEFT + (WIDTH - LEFT - RIGHT) * (i / max(n - 1, 1))


def _y(v: float) -> float:
    return TOP + (HEIGHT - TOP - BOTTOM) * (1 - min(max(v, 0.0), 1.0))


def _line(series: Series, n: int) -> str:
    points = [f"{_x(i, n):.1f},{_y(v):.1f}" for i, v in enumerate(series.values) if v is not None]
    if not points:
        return ""
    return (
        f'<polyline points="{" ".join(points)}" fill="none" stroke="{series.colour}" '
        'stroke-width="2" stroke-linejoin="round"/>'
    )


def _axes(days: tuple[date, ...]) -> list[str]:
    out = []
    for v in (0.0, 0.5, 1.0):
        y = _y(v)
        out.append(
            f'<line x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" y2="{y:.1f}" stroke="{GRID}"/>'
        )
        out.append(
            f'<text x="{LEFT - 4}" y="{y + 4:.1f}" text-anchor="end" font-size="10" '
            f'fill="#59636e">{v:.0%}</text>'
        )
    for i, anchor in ((0, "start"), (len(days) - 1, "end")):
        d = days[i]
        out.append(
            f'<text x="{_x(i, len(days)):.1f}" y="{HEIGHT - BOTTOM + 14:.1f}" '
            f'text-anchor="{anchor}" font-size="10" fill="#59636e">{d.month}月{d.day}日</text>'
        )
    return out


def trend_svg(trend: Trend, targets: tuple[float, float]) -> Markup:
    """Coverage and pass rate since the campaign began, with dashed target lines; a legend
    below. ``targets`` are (coverage, pass rate)."""
    series = trend_series(trend)
    n = len(trend.days)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH:.0f} {HEIGHT:.0f}" '
        'role="img" aria-label="创建进展趋势" class="chart">',
        *_axes(trend.days),
    ]
    for s, target in zip(series, targets, strict=True):
        y = _y(target)
        parts.append(
            f'<line x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" y2="{y:.1f}" '
            f'stroke="{s.colour}" stroke-dasharray="4 3" stroke-opacity="0.6"/>'
        )
        parts.append(_line(s, n))
    x = LEFT
    for s, target in zip(series, targets, strict=True):
        label = escape(f"{s.label}（目标 {target:.0%}）")
        parts.append(
            f'<rect x="{x:.1f}" y="{HEIGHT - 12:.1f}" width="12" height="4" fill="{s.colour}"/>'
        )
        parts.append(
            f'<text x="{x + 16:.1f}" y="{HEIGHT - 8:.1f}" font-size="11" fill="#1f2328">'
            f"{label}</text>"
        )
        x += 150
    parts.append("</svg>")
    return Markup("".join(parts))

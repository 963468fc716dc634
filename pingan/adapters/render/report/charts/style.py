"""What every chart shares: colours, the CJK font, the matplotlib style and PNG output."""

from __future__ import annotations

import dataclasses
import io
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any

from matplotlib import font_manager, rc_context
from matplotlib.figure import Figure
from matplotlib.ft2font import FT2Font

DPI = 144
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


def _font_file(font_path: Path | None) -> str:
    """The one CJK font of PDFs and charts (``font_path`` if configured, else found on the
    system)."""
    from pingan.adapters.render.fonts import matplotlib_font_properties

    return str(matplotlib_font_properties(font_path).get_file())


@cache
def cjk_family(font_path: Path | None = None) -> str:
    """Register the CJK font with matplotlib once; returns its family name.

    A font with a single weight (WenQuanYi Zen Hei is "medium") makes matplotlib log a
    warning for every normal or bold text; entries for those weights pointing at the same
    file keep the log quiet (glyphs are the same either way).
    """
    path = _font_file(font_path)
    base = font_manager.ttfFontProperty(FT2Font(path))
    for weight in (400, 700):
        font_manager.fontManager.ttflist.append(dataclasses.replace(base, weight=weight))
    font_manager.fontManager.addfont(path)  # also clears matplotlib's lookup cache
    return base.name


@contextmanager
def chart_style(font_path: Path | None = None) -> Iterator[None]:
    with rc_context(
        {
            "font.family": [cjk_family(font_path), "DejaVu Sans"],
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


def png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, bbox_inches="tight", facecolor="white")
    return buf.getvalue()


def empty(ax: Any, text: str) -> None:
    ax.set_axis_off()
    ax.text(0.5, 0.5, text, ha="center", va="center", fontsize=12, color=GREY)


def legend_on_top(ax: Any, columns: int) -> None:
    ax.legend(
        loc="lower left",
        bbox_to_anchor=(0.0, 1.0),
        ncol=columns,
        handlelength=1.2,
        columnspacing=1.4,
        borderaxespad=0.3,
    )

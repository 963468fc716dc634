"""reportlab helpers shared by the certificates and the public list: reproducible canvases
with embedded fonts, and Chinese text fitted into a box."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from reportlab.pdfbase import pdfmetrics  # type: ignore[import-untyped]
from reportlab.pdfgen.canvas import Canvas  # type: ignore[import-untyped]

# --- canvases --------------------------------------------------------------------------------


@contextmanager
def binary_streams() -> Iterator[None]:
    # reportlab ASCII85-encodes every compressed stream by default: 25% larger files and a
    # pure-Python encoder that costs about a tenth of each certificate. Binary streams are
    # plain PDF; the global flag is read while drawing and saving, so it is held until save.
    from reportlab import rl_config  # type: ignore[import-untyped]

    before = rl_config.useA85
    rl_config.useA85 = 0
    try:
        yield
    finally:
        rl_config.useA85 = before


def new_canvas(target: Any, font: str, pagesize: tuple[float, float], title: str) -> Any:
    """A reportlab canvas whose every font is embedded, with reproducible output.

    invariant: no timestamp or random id, so re-rendering the same award gives the same bytes.
    initialFontName: otherwise every page names an unembedded Helvetica it never uses.
    """
    c = Canvas(target, pagesize=pagesize, invariant=1, pageCompression=1, initialFontName=font)
    c.setTitle(title)
    c.setCreator("pingan")
    return c


# --- text fitting ----------------------------------------------------------------------------

# Chinese line-breaking rules (禁则): these never start a line …
_NO_LINE_START = set("，。、；：！？）】」』〕》〉”’…·—,.;:!?)]}%")
# … and these never end one.
_NO_LINE_END = set("（【「『〔《〈“‘([{")
_TOKEN = re.compile(r"[A-Za-z0-9@._%-]+|\s|.", re.S)


@dataclass(frozen=True)
class Fitted:
    size: float
    lines: tuple[str, ...]
    truncated: bool = False


def _unit_widths(font: str, tokens: list[str]) -> list[float]:
    face = pdfmetrics.getFont(font)
    return [face.stringWidth(t, 1.0) for t in tokens]


def _wrap(tokens: list[str], widths: list[float], limit: float) -> list[list[int]]:
    """Greedy line filling over token indices, with the line-breaking rules above."""
    lines: list[list[int]] = []
    line: list[int] = []
    used = 0.0
    for i, w in enumerate(widths):
        if line and used + w > limit:
            nxt = [i]
            # Pull a forbidden line-start back from the end of this line into the next one, and
            # push a forbidden line-end forward, as long as something is left behind.
            while len(line) > 1 and tokens[nxt[0]] in _NO_LINE_START:
                nxt.insert(0, line.pop())
            while len(line) > 1 and tokens[line[-1]] in _NO_LINE_END:
                nxt.insert(0, line.pop())
            lines.append(line)
            line = nxt
            used = sum(widths[j] for j in line)
        else:
            line.append(i)
            used += w
    if line:
        lines.append(line)
    return lines


def _split_long_tokens(tokens: list[str], widths: list[float], limit: float) -> list[str]:
    out: list[str] = []
    for tok, w in zip(tokens, widths, strict=True):
        out.extend(list(tok) if w > limit and len(tok) > 1 else [tok])
    return out


def fit_text(
    text: str,
    font: str,
    width: float,
    *,
    max_size: float,
    min_size: float,
    max_lines: int,
    step: float = 0.5,
) -> Fitted:
    """The largest size ≤ max_size at which `text` wraps into ≤ max_lines lines of `width`.

    Below min_size the text is wrapped at min_size and cut with "…" after max_lines lines, so
    the result always fits; `truncated` says when that happened.
    """
    tokens = _TOKEN.findall(text)
    widths = _unit_widths(font, tokens)
    size = max_size
    while True:
        limit = width / size
        toks = _split_long_tokens(tokens, widths, limit)
        tw = _unit_widths(font, toks) if toks is not tokens else widths
        rows = _wrap(toks, tw, limit)
        if len(rows) <= max_lines or size <= min_size:
            break
        size = max(min_size, size - step)
    # Only ASCII spaces at a break are dropped: a leading ideographic-space indent is kept.
    lines = ["".join(toks[j] for j in row).rstrip(" ") for row in rows]
    lines = lines[:1] + [line.lstrip(" ") for line in lines[1:]]
    if len(lines) <= max_lines:
        return Fitted(size, tuple(lines))
    last = lines[max_lines - 1]
    face = pdfmetrics.getFont(font)
    while last and face.stringWidth(last + "…", size) > width:
        last = last[:-1]
    return Fitted(size, (*lines[: max_lines - 1], last + "…"), truncated=True)

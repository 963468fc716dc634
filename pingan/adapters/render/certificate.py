"""Award certificates (荣誉证书): one A4 landscape PDF per named cell, or a bundle for printing.

Pure rendering: the caller supplies numbers, verification codes and issuer names. The
Chinese font is embedded, long names wrap and then shrink (never leaving the page), and every
file appears under its final name only once complete.
"""

from __future__ import annotations

import hashlib
import io
import multiprocessing
import os
import re
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

from reportlab.lib.colors import Color, HexColor  # type: ignore[import-untyped]
from reportlab.lib.pagesizes import A4, landscape  # type: ignore[import-untyped]
from reportlab.pdfbase import pdfmetrics  # type: ignore[import-untyped]
from reportlab.pdfgen.canvas import Canvas  # type: ignore[import-untyped]

from pingan.adapters.render.fonts import configured_font_path, register_reportlab_font

PAGE_WIDTH, PAGE_HEIGHT = (float(v) for v in landscape(A4))

RED: Color = HexColor("#B7141E")
GOLD: Color = HexColor("#B8892B")
INK: Color = HexColor("#1F1F1F")
GREY: Color = HexColor("#5A5A5A")
PAPER: Color = HexColor("#FFFCF2")


@dataclass(frozen=True)
class CertificateData:
    """Everything printed on one certificate; the caller owns numbering and codes."""

    campaign_name: str  # 2017年度徐城街道重点领域和行业“平安细胞”创建活动
    title: str  # 平安校园
    cell_name: str
    cell_code: str
    village: str | None
    number: str  # 徐城平安校园〔2017〕第001号
    verification_code: str  # 7KQ4-M2XD
    issued_on: date
    issuers: tuple[str, ...]  # coordinator first, then the domain's lead unit
    verify_hint: str | None = None  # 凭证书编号与验证码向徐城街道综治办核验 (or a URL)


# --- small public helpers --------------------------------------------------------------------

_CN_DIGITS = "〇一二三四五六七八九"


def _cn_number(n: int) -> str:
    # Months and days only (1–31): 十, 十一, 二十, 二十一, 三十一.
    if n < 10:
        return _CN_DIGITS[n]
    tens, ones = divmod(n, 10)
    head = "十" if tens == 1 else _CN_DIGITS[tens] + "十"
    return head + (_CN_DIGITS[ones] if ones else "")


def chinese_date(d: date) -> str:
    """二〇一七年十一月二十日 — the way a certificate's date line is written."""
    year = "".join(_CN_DIGITS[int(c)] for c in str(d.year))
    return f"{year}年{_cn_number(d.month)}月{_cn_number(d.day)}日"


_SAFE_STEM = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


def safe_stem(text: str) -> str:
    """A file-name stem from user text: ASCII-safe, and distinct texts stay distinct.

    Text that is already a plain ASCII name is kept; anything else is reduced to its safe
    characters plus a short hash of the original, so "a/b" and "a_b" cannot collide.
    """
    if _SAFE_STEM.fullmatch(text) and not text.endswith("."):
        return text
    kept = re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._-")[:60]
    digest = hashlib.sha1(text.encode("utf-8")).hexdigest()[:10]
    return f"{kept}-{digest}" if kept else digest


def default_filename(data: CertificateData) -> str:
    return safe_stem(data.cell_code) + ".pdf"


def _check_filename(name: str) -> str:
    if (
        not name
        or name in (".", "..")
        or name.startswith(".")
        or any(sep in name for sep in ("/", "\\", "\0"))
        or Path(name).name != name
    ):
        raise ValueError(f"certificate file name must be a plain file name, got {name!r}")
    return name


@contextmanager
def atomic_output(path: Path, *, fsync: bool = True) -> Iterator[io.BufferedWriter]:
    """A binary file that appears under `path` only when the block completes.

    The temporary file sits in the same directory so os.replace is a rename, and is opened
    with "x" (not mkstemp, whose 0600 mode would outlive the rename).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        with tmp.open("xb") as fh:
            yield fh
            if fsync:
                fh.flush()
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


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


# --- drawing ---------------------------------------------------------------------------------

# Layout, in points on landscape A4 (842 × 595).
_OUTER = 18.0  # red border inset
_INNER = 30.0  # gold border inset
_LEFT = 108.0
_RIGHT = PAGE_WIDTH - 108.0
_BODY_W = _RIGHT - _LEFT
_BODY_TOP = 408.0  # baseline of the first body line
_FOOT_Y = 54.0
_FOOT_W = 300.0  # each footer half; the hint takes the right one
_ISSUER_CX = PAGE_WIDTH - 235.0
_ISSUER_W = 330.0
_ISSUER_BOTTOM = 96.0  # baseline of the date line


def _draw_frame(c: Any) -> None:
    w, h = PAGE_WIDTH, PAGE_HEIGHT
    c.setFillColor(PAPER)
    c.rect(_OUTER, _OUTER, w - 2 * _OUTER, h - 2 * _OUTER, stroke=0, fill=1)
    c.setStrokeColor(RED)
    c.setLineWidth(6)
    c.rect(_OUTER, _OUTER, w - 2 * _OUTER, h - 2 * _OUTER, stroke=1, fill=0)
    c.setLineWidth(1)
    c.rect(_OUTER + 6, _OUTER + 6, w - 2 * _OUTER - 12, h - 2 * _OUTER - 12, stroke=1, fill=0)
    c.setStrokeColor(GOLD)
    c.setLineWidth(1.4)
    c.rect(_INNER, _INNER, w - 2 * _INNER, h - 2 * _INNER, stroke=1, fill=0)
    # Fret (回纹) corners in gold.
    c.setLineWidth(1.2)
    k = 14.0
    for x, y, sx, sy in (
        (_INNER, _INNER, 1, 1),
        (w - _INNER, _INNER, -1, 1),
        (_INNER, h - _INNER, 1, -1),
        (w - _INNER, h - _INNER, -1, -1),
    ):
        p = c.beginPath()
        p.moveTo(x + sx * 4, y + sy * (3 * k))
        p.lineTo(x + sx * 4, y + sy * 4)
        p.lineTo(x + sx * (3 * k), y + sy * 4)
        p.moveTo(x + sx * 9, y + sy * (2 * k + 2))
        p.lineTo(x + sx * 9, y + sy * 9)
        p.lineTo(x + sx * (2 * k + 2), y + sy * 9)
        p.moveTo(x + sx * k, y + sy * (k + 6))
        p.lineTo(x + sx * k, y + sy * k)
        p.lineTo(x + sx * (k + 6), y + sy * k)
        c.drawPath(p, stroke=1, fill=0)
    # A gold rule with a diamond under the title.
    y = h - 142
    c.setLineWidth(0.8)
    c.line(w / 2 - 150, y, w / 2 - 10, y)
    c.line(w / 2 + 10, y, w / 2 + 150, y)
    c.setFillColor(GOLD)
    p = c.beginPath()
    p.moveTo(w / 2, y + 4)
    p.lineTo(w / 2 + 5, y)
    p.lineTo(w / 2, y - 4)
    p.lineTo(w / 2 - 5, y)
    p.close()
    c.drawPath(p, stroke=0, fill=1)


def _draw_heading(c: Any, font: str) -> None:
    size, space = 52.0, 22.0
    c.setFillColor(RED)
    c.setStrokeColor(RED)
    c.setLineWidth(1.1)
    c.setFont(font, size)
    # Render mode 2 (fill + stroke) thickens the strokes: the font has no bold face.
    c.drawCentredString(
        PAGE_WIDTH / 2 + space / 2, PAGE_HEIGHT - 122, "荣誉证书", mode=2, charSpace=space
    )


@dataclass(frozen=True)
class _Body:
    name: Fitted
    paragraph: Fitted
    title: Fitted
    closing: Fitted
    gap: float

    def height(self) -> float:
        return (
            _leading(self.name) * len(self.name.lines)
            + self.gap
            + _leading(self.paragraph) * len(self.paragraph.lines)
            + self.gap
            + self.title.size * 1.5
            + _leading(self.closing)
        )


def _leading(f: Fitted) -> float:
    return f.size * 1.65


@lru_cache(maxsize=4096)
def _campaign_lines(font: str, campaign: str, title: str, scale: float) -> tuple[Fitted, ...]:
    # Shared by every certificate of a domain: fitted once, not 90,000 times.
    indent = "\u3000\u3000"
    paragraph = fit_text(
        f"{indent}在{campaign}中，经考核验收，成绩合格，被命名为",
        font,
        _BODY_W,
        max_size=19 * scale,
        min_size=10,
        max_lines=3,
    )
    big = fit_text(f"“{title}”", font, _BODY_W, max_size=42 * scale, min_size=14, max_lines=1)
    closing = fit_text(
        f"{indent}特发此证。", font, _BODY_W, max_size=19 * scale, min_size=10, max_lines=1
    )
    return paragraph, big, closing


@lru_cache(maxsize=1024)
def _issuer_block(font: str, issuers: tuple[str, ...], when: date) -> tuple[Fitted, ...]:
    fitted = [
        fit_text(name, font, _ISSUER_W, max_size=16, min_size=8, max_lines=2) for name in issuers
    ]
    fitted.append(
        fit_text(chinese_date(when), font, _ISSUER_W, max_size=16, min_size=8, max_lines=1)
    )
    return tuple(fitted)


def _layout_body(font: str, data: CertificateData, room: float) -> _Body:
    """Fit the body above the issuers, shrinking everything together so the name (the part
    that varies) never drops below the size of the text around it; only at the smallest
    scale does a very long name shrink further on its own."""
    tries = [(scale, size) for scale in (1.0, 0.9, 0.8, 0.7, 0.6) for size in (25.0, 22.0, 19.0)]
    tries += [(0.6, size) for size in (26.0, 22.0, 18.0, 15.0)]  # 0.6 × 15 = the 9 pt floor
    body: _Body | None = None
    for scale, size in tries:
        paragraph, big, closing = _campaign_lines(font, data.campaign_name, data.title, scale)
        name = fit_text(
            f"{data.cell_name}：", font, _BODY_W, max_size=size * scale, min_size=9, max_lines=3
        )
        body = _Body(name, paragraph, big, closing, gap=10 * scale)
        if body.height() <= room:
            return body
    assert body is not None
    return body


def _draw_lines(c: Any, font: str, f: Fitted, y: float, *, mode: int | None = None) -> float:
    c.setFont(font, f.size)
    for line in f.lines:
        c.drawString(_LEFT, y, line, mode=mode)
        y -= _leading(f)
    return y


def _draw_certificate(c: Any, font: str, data: CertificateData, *, frame: str | None) -> None:
    if frame is None:
        _draw_frame(c)
    else:
        c.doForm(frame)
    _draw_heading(c, font)

    issuers = _issuer_block(font, data.issuers, data.issued_on)
    issuer_lines = sum(len(f.lines) for f in issuers)
    issuer_top = _ISSUER_BOTTOM + (issuer_lines - 1) * 16 * 1.5 + 16
    body = _layout_body(font, data, room=_BODY_TOP + 25 - issuer_top - 12)

    c.setFillColor(INK)
    c.setStrokeColor(INK)
    c.setLineWidth(0.45)
    y = _draw_lines(c, font, body.name, _BODY_TOP, mode=2) - body.gap
    y = _draw_lines(c, font, body.paragraph, y) - body.gap
    c.setFillColor(RED)
    c.setStrokeColor(RED)
    c.setLineWidth(0.9)
    y -= body.title.size * 0.35
    c.setFont(font, body.title.size)
    c.drawCentredString(PAGE_WIDTH / 2, y, body.title.lines[0], mode=2)
    y -= body.title.size * 1.15
    c.setFillColor(INK)
    _draw_lines(c, font, body.closing, y)

    # Issuers and date, bottom right, each line centred on one axis as on official documents.
    y = _ISSUER_BOTTOM + (issuer_lines - 1) * 16 * 1.5
    for f in issuers:
        c.setFont(font, f.size)
        for line in f.lines:
            c.drawCentredString(_ISSUER_CX, y, line)
            y -= 16 * 1.5

    # Footer: what a reader needs to check the certificate is genuine.
    c.setFillColor(GREY)
    for text, y in (
        (f"证书编号：{data.number}", _FOOT_Y),
        (f"验 证 码：{data.verification_code}", _FOOT_Y - 14),
    ):
        f = fit_text(text, font, _FOOT_W, max_size=10, min_size=6, max_lines=1)
        c.setFont(font, f.size)
        c.drawString(_LEFT - 44, y, f.lines[0])
    if data.verify_hint:
        hint = fit_text(data.verify_hint, font, _FOOT_W + 40, max_size=9, min_size=6, max_lines=2)
        c.setFont(font, hint.size)
        y = _FOOT_Y - 14 + (len(hint.lines) - 1) * hint.size * 1.3
        for line in hint.lines:
            c.drawRightString(_RIGHT + 44, y, line)
            y -= hint.size * 1.3


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


def certificate_bytes(data: CertificateData, *, font: str | None = None) -> bytes:
    """One certificate as PDF bytes (for attachments and tests)."""
    font = font or register_reportlab_font()
    buf = io.BytesIO()
    with binary_streams():
        c = new_canvas(buf, font, (PAGE_WIDTH, PAGE_HEIGHT), f"荣誉证书 {data.number}")
        c.setAuthor("、".join(data.issuers))
        _draw_certificate(c, font, data, frame=None)
        c.showPage()
        c.save()
    return buf.getvalue()


def write_certificate(data: CertificateData, path: Path) -> None:
    """Write one certificate to `path` atomically."""
    blob = certificate_bytes(data)
    with atomic_output(path) as fh:
        fh.write(blob)


def write_certificates(
    items: Iterable[CertificateData],
    out_dir: Path,
    *,
    filename: Callable[[CertificateData], str] | None = None,
    fsync: bool = False,
    workers: int = 1,
    batch_size: int = 200,
    on_written: Callable[[int], None] | None = None,
) -> list[Path]:
    """One PDF per certificate under out_dir, in input order (default name: the cell code).

    Each file is renamed into place only when complete, so a crash leaves whole files and no
    temporaries. Files are not fsynced one by one unless asked: under load that costs ~10 ms a
    file (15 minutes for 90,000) and certificates are reproducible byte for byte, so a rerun
    restores any lost to a power cut. A name produced twice in one call is an error rather
    than a silent overwrite. `workers` > 1 renders batches in that many spawned processes
    (spawn, not fork: the caller may be a threaded Prefect worker; the calling script needs
    the usual `if __name__ == "__main__":` guard); items are consumed lazily, so memory stays
    flat.
    """
    name_of = filename or default_filename
    out_dir.mkdir(parents=True, exist_ok=True)
    seen: set[str] = set()

    def named() -> Iterator[tuple[str, CertificateData]]:
        for data in items:
            name = _check_filename(name_of(data))
            if name in seen:
                raise ValueError(f"two certificates would both be written to {name!r}")
            seen.add(name)
            yield name, data

    written: list[Path] = []
    if workers <= 1:
        font = register_reportlab_font()
        for name, data in named():
            path = out_dir / name
            blob = certificate_bytes(data, font=font)
            with atomic_output(path, fsync=fsync) as fh:
                fh.write(blob)
            written.append(path)
            if on_written is not None and len(written) % batch_size == 0:
                on_written(len(written))
    else:
        font_path = configured_font_path()
        ctx = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(
            workers, mp_context=ctx, initializer=register_reportlab_font, initargs=(font_path,)
        ) as pool:
            pending: deque[Future[list[Path]]] = deque()
            for batch in _batches(named(), batch_size):
                pending.append(pool.submit(_write_batch, batch, out_dir, fsync, font_path))
                if len(pending) >= 2 * workers:  # bounded look-ahead keeps memory flat
                    written.extend(pending.popleft().result())
                    if on_written is not None:
                        on_written(len(written))
            while pending:
                written.extend(pending.popleft().result())
                if on_written is not None:
                    on_written(len(written))
    if fsync:
        _fsync_dir(out_dir)
    return written


def _batches(
    pairs: Iterator[tuple[str, CertificateData]], size: int
) -> Iterator[list[tuple[str, CertificateData]]]:
    batch: list[tuple[str, CertificateData]] = []
    for pair in pairs:
        batch.append(pair)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _write_batch(
    batch: list[tuple[str, CertificateData]], out_dir: Path, fsync: bool, font_path: Path
) -> list[Path]:
    font = register_reportlab_font(font_path)
    paths = []
    for name, data in batch:
        path = out_dir / name
        blob = certificate_bytes(data, font=font)
        with atomic_output(path, fsync=fsync) as fh:
            fh.write(blob)
        paths.append(path)
    return paths


def write_certificate_bundle(items: Iterable[CertificateData], path: Path) -> int:
    """All certificates as pages of one PDF, for printing; returns the page count.

    The frame is drawn once as a form XObject and the font subsets are shared, so a bundle
    is much smaller and faster than the same certificates as separate files. reportlab holds
    every page in memory until it saves (about 9 KB a page), so bundle per village or per
    domain — tens of thousands of pages at most — rather than a whole campaign.
    """
    font = register_reportlab_font()
    buf = io.BytesIO()
    pages = 0
    with binary_streams():
        c = new_canvas(buf, font, (PAGE_WIDTH, PAGE_HEIGHT), "荣誉证书")
        c.beginForm("pingan-frame")
        _draw_frame(c)
        c.endForm()
        for data in items:
            _draw_certificate(c, font, data, frame="pingan-frame")
            c.showPage()
            pages += 1
        c.save()
    with atomic_output(path) as fh:
        fh.write(buf.getvalue())
    return pages


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # pragma: no cover - e.g. Windows cannot open directories
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)

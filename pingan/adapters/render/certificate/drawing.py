"""Drawing one certificate on a reportlab canvas: frame, heading, body, issuers, footer."""

from __future__ import annotations

import io
from typing import Any

from pingan.adapters.render.certificate.data import CertificateData
from pingan.adapters.render.certificate.layout import (
    BODY_TOP,
    FOOT_W,
    FOOT_Y,
    GOLD,
    GREY,
    INK,
    INNER,
    ISSUER_BOTTOM,
    ISSUER_CX,
    LEFT,
    OUTER,
    PAGE_HEIGHT,
    PAGE_WIDTH,
    PAPER,
    QR_SIZE,
    QR_TEXT_W,
    QR_X,
    QR_Y,
    RED,
    RIGHT,
    Body,
    issuer_block,
    layout_body,
    leading,
)
from pingan.adapters.render.fonts import register_reportlab_font
from pingan.adapters.render.pdf import Fitted, binary_streams, fit_text, new_canvas

# --- the frame (the same on every certificate) -----------------------------------------------


def _draw_borders(c: Any) -> None:
    w, h = PAGE_WIDTH, PAGE_HEIGHT
    c.setFillColor(PAPER)
    c.rect(OUTER, OUTER, w - 2 * OUTER, h - 2 * OUTER, stroke=0, fill=1)
    c.setStrokeColor(RED)
    c.setLineWidth(6)
    c.rect(OUTER, OUTER, w - 2 * OUTER, h - 2 * OUTER, stroke=1, fill=0)
    c.setLineWidth(1)
    c.rect(OUTER + 6, OUTER + 6, w - 2 * OUTER - 12, h - 2 * OUTER - 12, stroke=1, fill=0)
    c.setStrokeColor(GOLD)
    c.setLineWidth(1.4)
    c.rect(INNER, INNER, w - 2 * INNER, h - 2 * INNER, stroke=1, fill=0)


def _draw_corners(c: Any) -> None:
    # Fret (回纹) corners in gold.
    w, h = PAGE_WIDTH, PAGE_HEIGHT
    c.setLineWidth(1.2)
    k = 14.0
    for x, y, sx, sy in (
        (INNER, INNER, 1, 1),
        (w - INNER, INNER, -1, 1),
        (INNER, h - INNER, 1, -1),
        (w - INNER, h - INNER, -1, -1),
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


def _draw_title_rule(c: Any) -> None:
    # A gold rule with a diamond under the title.
    w, h = PAGE_WIDTH, PAGE_HEIGHT
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


def draw_frame(c: Any) -> None:
    _draw_borders(c)
    _draw_corners(c)
    _draw_title_rule(c)


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


# --- what varies: body, issuers, footer ------------------------------------------------------


def _draw_lines(c: Any, font: str, f: Fitted, y: float, *, mode: int | None = None) -> float:
    c.setFont(font, f.size)
    for line in f.lines:
        c.drawString(LEFT, y, line, mode=mode)
        y -= leading(f)
    return y


def _draw_body(c: Any, font: str, body: Body) -> None:
    c.setFillColor(INK)
    c.setStrokeColor(INK)
    c.setLineWidth(0.45)
    y = _draw_lines(c, font, body.name, BODY_TOP, mode=2) - body.gap
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


def _draw_issuers(c: Any, font: str, issuers: tuple[Fitted, ...], issuer_lines: int) -> None:
    # Issuers and date, bottom right, each line centred on one axis as on official documents.
    y = ISSUER_BOTTOM + (issuer_lines - 1) * 16 * 1.5
    for f in issuers:
        c.setFont(font, f.size)
        for line in f.lines:
            c.drawCentredString(ISSUER_CX, y, line)
            y -= 16 * 1.5


def _draw_footer(c: Any, font: str, data: CertificateData) -> None:
    # Footer: what a reader needs to check the certificate is genuine.
    c.setFillColor(GREY)
    for text, y in (
        (f"证书编号：{data.number}", FOOT_Y),
        (f"验 证 码：{data.verification_code}", FOOT_Y - 14),
    ):
        f = fit_text(text, font, FOOT_W, max_size=10, min_size=6, max_lines=1)
        c.setFont(font, f.size)
        c.drawString(LEFT - 44, y, f.lines[0])
    if data.verify_hint:
        hint = fit_text(data.verify_hint, font, FOOT_W + 40, max_size=9, min_size=6, max_lines=2)
        c.setFont(font, hint.size)
        y = FOOT_Y - 14 + (len(hint.lines) - 1) * hint.size * 1.3
        for line in hint.lines:
            c.drawRightString(RIGHT + 44, y, line)
            y -= hint.size * 1.3


QR_BORDER = 2  # modules of quiet zone, on the light paper
# A fixed mask: choosing the best of eight (the QR default) cost 7 ms a certificate, more
# than drawing the rest of it; any mask is a valid code (tests decode them with zbar).
QR_MASK = 0


def qr_operators(url: str) -> tuple[int, str]:
    """The QR code of url as PDF path operators in module units (one ``re`` per run of dark
    modules in a row, integers only), and its width in modules with the quiet zone.

    Written as literal operators: through reportlab's path API each of the few hundred
    rectangles formats four floats in pure Python, which made a certificate 7× slower."""
    import segno

    matrix = segno.make_qr(url, error="m", boost_error=False, mask=QR_MASK).matrix
    ops: list[str] = []
    for r, row in enumerate(matrix):
        col = 0
        while col < len(row):
            if not row[col]:
                col += 1
                continue
            end = col
            while end < len(row) and row[end]:
                end += 1
            ops.append(f"{col + QR_BORDER} {r + QR_BORDER} {end - col} 1 re")
            col = end
    ops.append("f")
    return len(matrix) + 2 * QR_BORDER, "\n".join(ops)


def _draw_qr(c: Any, font: str, url: str) -> None:
    # Bottom left, above the number and code: the public verification page, scanned or typed.
    modules, operators = qr_operators(url)
    scale = QR_SIZE / modules
    c.saveState()
    c.setFillColor(INK)
    c.translate(QR_X, QR_Y + QR_SIZE)
    c.scale(scale, -scale)  # rows run downwards, as the matrix does
    c.addLiteral(operators)
    c.restoreState()
    c.setFillColor(GREY)
    text_x = QR_X + QR_SIZE + 6
    for text, y, size in (
        ("扫描二维码或访问以下网址，核验证书真伪", QR_Y + QR_SIZE / 2 + 4, 9.0),
        (url, QR_Y + QR_SIZE / 2 - 10, 9.0),
    ):
        f = fit_text(text, font, QR_TEXT_W, max_size=size, min_size=5, max_lines=1)
        c.setFont(font, f.size)
        c.drawString(text_x, y, f.lines[0])


def draw_certificate(c: Any, font: str, data: CertificateData, *, frame: str | None) -> None:
    if frame is None:
        draw_frame(c)
    else:
        c.doForm(frame)
    _draw_heading(c, font)
    issuers = issuer_block(font, data.issuers, data.issued_on)
    issuer_lines = sum(len(f.lines) for f in issuers)
    issuer_top = ISSUER_BOTTOM + (issuer_lines - 1) * 16 * 1.5 + 16
    body = layout_body(font, data, room=BODY_TOP + 25 - issuer_top - 12)
    _draw_body(c, font, body)
    _draw_issuers(c, font, issuers, issuer_lines)
    _draw_footer(c, font, data)
    if data.verify_url:
        _draw_qr(c, font, data.verify_url)


def certificate_bytes(data: CertificateData, *, font: str | None = None) -> bytes:
    """One certificate as PDF bytes (for attachments and tests); ``font`` is a registered
    reportlab font name (default: the discovered CJK font)."""
    font = font or register_reportlab_font()
    buf = io.BytesIO()
    with binary_streams():
        c = new_canvas(buf, font, (PAGE_WIDTH, PAGE_HEIGHT), f"荣誉证书 {data.number}")
        c.setAuthor("、".join(data.issuers))
        draw_certificate(c, font, data, frame=None)
        c.showPage()
        c.save()
    return buf.getvalue()

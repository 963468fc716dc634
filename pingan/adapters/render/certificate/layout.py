"""Where things go on a certificate (landscape A4), and the body fitted into its room."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import lru_cache

from reportlab.lib.colors import Color, HexColor  # type: ignore[import-untyped]
from reportlab.lib.pagesizes import A4, landscape  # type: ignore[import-untyped]

from pingan.adapters.render.certificate.data import CertificateData, chinese_date
from pingan.adapters.render.pdf import Fitted, fit_text

PAGE_WIDTH, PAGE_HEIGHT = (float(v) for v in landscape(A4))

RED: Color = HexColor("#B7141E")
GOLD: Color = HexColor("#B8892B")
INK: Color = HexColor("#1F1F1F")
GREY: Color = HexColor("#5A5A5A")
PAPER: Color = HexColor("#FFFCF2")

# Layout, in points on landscape A4 (842 × 595).
OUTER = 18.0  # red border inset
INNER = 30.0  # gold border inset
LEFT = 108.0
RIGHT = PAGE_WIDTH - 108.0
BODY_W = RIGHT - LEFT
BODY_TOP = 408.0  # baseline of the first body line
FOOT_Y = 54.0
FOOT_W = 300.0  # each footer half; the hint takes the right one
ISSUER_CX = PAGE_WIDTH - 235.0
ISSUER_W = 330.0
ISSUER_BOTTOM = 96.0  # baseline of the date line
# The QR code of the verification page: bottom left, above the number and code, below the
# body (whose room ends above the issuers' block, higher than QR_Y + QR_SIZE).
QR_SIZE = 76.0
QR_X = LEFT - 44
QR_Y = FOOT_Y + 14
QR_TEXT_W = ISSUER_CX - ISSUER_W / 2 - (QR_X + QR_SIZE + 6) - 8


@dataclass(frozen=True)
class Body:
    name: Fitted
    paragraph: Fitted
    title: Fitted
    closing: Fitted
    gap: float

    def height(self) -> float:
        return (
            leading(self.name) * len(self.name.lines)
            + self.gap
            + leading(self.paragraph) * len(self.paragraph.lines)
            + self.gap
            + self.title.size * 1.5
            + leading(self.closing)
        )


def leading(f: Fitted) -> float:
    return f.size * 1.65


@lru_cache(maxsize=4096)
def _campaign_lines(font: str, campaign: str, title: str, scale: float) -> tuple[Fitted, ...]:
    # Shared by every certificate of a domain: fitted once, not 90,000 times.
    indent = "\u3000\u3000"
    paragraph = fit_text(
        f"{indent}在{campaign}中，经考核验收，成绩合格，被命名为",
        font,
        BODY_W,
        max_size=19 * scale,
        min_size=10,
        max_lines=3,
    )
    big = fit_text(f"“{title}”", font, BODY_W, max_size=42 * scale, min_size=14, max_lines=1)
    closing = fit_text(
        f"{indent}特发此证。", font, BODY_W, max_size=19 * scale, min_size=10, max_lines=1
    )
    return paragraph, big, closing


@lru_cache(maxsize=1024)
def issuer_block(font: str, issuers: tuple[str, ...], when: date) -> tuple[Fitted, ...]:
    fitted = [
        fit_text(name, font, ISSUER_W, max_size=16, min_size=8, max_lines=2) for name in issuers
    ]
    fitted.append(
        fit_text(chinese_date(when), font, ISSUER_W, max_size=16, min_size=8, max_lines=1)
    )
    return tuple(fitted)


def layout_body(font: str, data: CertificateData, room: float) -> Body:
    """Fit the body above the issuers, shrinking everything together so the name (the part
    that varies) never drops below the size of the text around it; only at the smallest
    scale does a very long name shrink further on its own."""
    tries = [(scale, size) for scale in (1.0, 0.9, 0.8, 0.7, 0.6) for size in (25.0, 22.0, 19.0)]
    tries += [(0.6, size) for size in (26.0, 22.0, 18.0, 15.0)]  # 0.6 × 15 = the 9 pt floor
    body: Body | None = None
    for scale, size in tries:
        paragraph, big, closing = _campaign_lines(font, data.campaign_name, data.title, scale)
        name = fit_text(
            f"{data.cell_name}：", font, BODY_W, max_size=size * scale, min_size=9, max_lines=3
        )
        body = Body(name, paragraph, big, closing, gap=10 * scale)
        if body.height() <= room:
            return body
    assert body is not None
    return body

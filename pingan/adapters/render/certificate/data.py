"""What one certificate says, and the names and dates written from it."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path


@dataclass(frozen=True)
class CertificateData:
    """Everything printed on one certificate; the caller owns numbering and codes."""

    campaign_name: str  # the campaign's full name, as in its YAML
    title: str  # 平安校园
    cell_name: str
    cell_code: str
    village: str | None
    number: str  # 徐城平安校园〔2017〕第001号
    verification_code: str  # 7KQ4-M2XD
    issued_on: date
    issuers: tuple[str, ...]  # coordinator first, then the domain's lead unit
    verify_hint: str | None = None  # 扫描二维码或访问 <url> 核验 (or: 向<office>核验)
    verify_url: str | None = None  # the public verification page, printed as a QR code


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


def check_filename(name: str) -> str:
    if (
        not name
        or name in (".", "..")
        or name.startswith(".")
        or any(sep in name for sep in ("/", "\\", "\0"))
        or Path(name).name != name
    ):
        raise ValueError(f"certificate file name must be a plain file name, got {name!r}")
    return name

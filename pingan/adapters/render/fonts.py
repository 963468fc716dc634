"""The one CJK font every PDF and chart uses: found once, embedded in every file.

PDFs must render on any machine, so the font is always embedded (reportlab subsets TrueType
fonts into a FontFile2 stream). Only TrueType outlines qualify: reportlab cannot embed CFF
("PostScript") outlines, which is what the Noto CJK .otf/.ttc files carry, so discovery skips
them rather than failing later in the middle of a batch.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reportlab.pdfbase import pdfmetrics  # type: ignore[import-untyped]
from reportlab.pdfbase.ttfonts import TTFError, TTFont  # type: ignore[import-untyped]

from pingan.core.problems import InputError, Problem

if TYPE_CHECKING:
    from matplotlib.font_manager import FontProperties

# Characters every certificate and list needs; a font lacking any of them would print tofu.
_PROBE = "荣誉证书平安校园〔〕第号：。“”〇"

KNOWN_PATHS: tuple[Path, ...] = (
    Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"),
    Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"),
    Path("/usr/share/fonts/wqy-zenhei/wqy-zenhei.ttc"),
    Path("/usr/share/fonts/wqy-microhei/wqy-microhei.ttc"),
    Path("/usr/share/fonts/truetype/arphic/uming.ttc"),
    Path("/usr/share/fonts/truetype/arphic/ukai.ttc"),
    Path("/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf"),
    Path("/usr/share/fonts/truetype/noto/NotoSansSC-Regular.ttf"),
    Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"),
    Path("/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc"),
    Path("/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc"),
    Path("/System/Library/Fonts/STHeiti Light.ttc"),
    Path("C:/Windows/Fonts/simhei.ttf"),
    Path("C:/Windows/Fonts/simsun.ttc"),
)

_FONT_SUFFIXES = (".ttf", ".ttc", ".otf", ".otc")

_HOW_TO_FIX = (
    "请安装文泉驿正黑字体（apt-get install fonts-wqy-zenhei），"
    "或将 PINGAN_FONT_PATH 设为含中文字形的 TrueType 字体文件（.ttf/.ttc）路径"
)


def cjk_font_path(explicit: Path | None = None) -> Path:
    """The explicit font if given (it must be usable), else the first usable CJK font found."""
    if explicit is not None:
        reason = _unusable(Path(explicit))
        if reason:
            raise InputError([Problem("设置", "PINGAN_FONT_PATH", f"{reason}；{_HOW_TO_FIX}")])
        return Path(explicit)
    for candidate in _candidates():
        if _unusable(candidate) is None:
            return candidate
    raise InputError([Problem("系统", "", f"未找到含中文字形的字体，无法生成 PDF；{_HOW_TO_FIX}")])


def register_reportlab_font(explicit: Path | None = None) -> str:
    """Register the CJK font with reportlab once per process; returns its reportlab name.

    ``explicit`` is the configured font (PINGAN_FONT_PATH); without it the font is discovered.
    """
    return _register(cjk_font_path(explicit))


@cache
def _register(path: Path) -> str:
    font = _load(path)
    assert not isinstance(font, str)  # cjk_font_path only returns fonts that loaded
    pdfmetrics.registerFont(font)
    return str(font.fontName)


def matplotlib_font_properties(explicit: Path | None = None) -> FontProperties:
    """The same font for matplotlib charts (imported here: most callers never draw a chart)."""
    from matplotlib.font_manager import FontProperties

    return FontProperties(fname=str(cjk_font_path(explicit)))


def _candidates() -> list[Path]:
    seen: set[Path] = set()
    out: list[Path] = []
    for path in [*_fontconfig_fonts(), *KNOWN_PATHS]:
        if path not in seen:
            seen.add(path)
            out.append(path)
    # Prefer TrueType containers: .otf/.otc are nearly always CFF, which cannot be embedded.
    out.sort(key=lambda p: p.suffix.lower() in (".otf", ".otc"))
    return out


def _fontconfig_fonts() -> list[Path]:
    # `fc-match :lang=zh` returns its best guess even when it has no CJK glyphs (DejaVu on a
    # machine with WenQuanYi installed), so ask fc-list for fonts that cover zh instead.
    exe = shutil.which("fc-list")
    if exe is None:
        return []
    try:
        done = subprocess.run(
            [exe, ":lang=zh", "file"], capture_output=True, text=True, timeout=20, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return []
    paths = []
    for line in sorted(done.stdout.splitlines()):
        name = line.strip().rstrip(":").strip()
        if name.lower().endswith(_FONT_SUFFIXES):
            paths.append(Path(name))
    return paths


def _unusable(path: Path) -> str | None:
    """Why this file cannot be the CJK font (Chinese, for the operator), or None."""
    if not path.is_file():
        return f"字体文件 {path} 不存在"
    loaded = _load(path)
    return loaded if isinstance(loaded, str) else None


@cache
def _load(path: Path) -> Any:
    """A reportlab TTFont for the file, or the reason it cannot be used."""
    name = "PinganCJK-" + hashlib.sha1(str(path).encode()).hexdigest()[:8]
    kwargs: dict[str, Any] = {}
    if path.suffix.lower() in (".ttc", ".otc"):
        kwargs["subfontIndex"] = 0
    try:
        font = TTFont(name, str(path), **kwargs)
    except TTFError as exc:
        if "postscript" in str(exc).lower():
            return f"字体文件 {path} 为 PostScript（CFF）轮廓，无法嵌入 PDF"
        return f"字体文件 {path} 无法读取（{exc}）"
    except (OSError, ValueError) as exc:
        return f"字体文件 {path} 无法读取（{exc}）"
    to_glyph = font.face.charToGlyph
    missing = [ch for ch in _PROBE if ord(ch) not in to_glyph]
    if missing:
        return f"字体文件 {path} 缺少中文字形（如“{missing[0]}”）"
    _cache_tables(font)
    return font


def _cache_tables(font: Any) -> None:
    # reportlab copies the whole glyf table (many MB for a CJK font) out of the file data for
    # every document it subsets; one certificate per file makes that the largest single cost.
    # Tables are immutable bytes, so handing out one shared copy is safe.
    face = font.face
    original = getattr(face, "get_table", None)
    if original is None:  # pragma: no cover - reportlab internals changed; stay correct
        return
    tables: dict[str, bytes] = {}

    def get_table(tag: str) -> bytes:
        data = tables.get(tag)
        if data is None:
            data = tables[tag] = original(tag)
        return data

    face.get_table = get_table

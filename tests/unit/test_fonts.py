"""pingan.adapters.render.fonts: finding the one CJK font that every PDF embeds."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
from reportlab.pdfbase import pdfmetrics  # type: ignore[import-untyped]

from pingan.adapters.render import fonts
from pingan.core.problems import InputError

WQY = Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc")
DEJAVU = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")

needs_wqy = pytest.mark.skipif(not WQY.is_file(), reason="fonts-wqy-zenhei is not installed")
needs_dejavu = pytest.mark.skipif(not DEJAVU.is_file(), reason="fonts-dejavu is not installed")


def _no_system_fonts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fonts.shutil, "which", lambda _name: None)
    monkeypatch.setattr(fonts, "KNOWN_PATHS", ())


@needs_wqy
def test_explicit_path_wins_over_discovery(tmp_path: Path) -> None:
    mine = tmp_path / "mine.ttc"
    mine.symlink_to(WQY)
    assert fonts.cjk_font_path(mine) == mine


def test_missing_explicit_file_is_an_input_error_in_chinese(tmp_path: Path) -> None:
    with pytest.raises(InputError) as caught:
        fonts.cjk_font_path(tmp_path / "nope.ttf")
    (problem,) = caught.value.problems
    assert problem.where == "PINGAN_FONT_PATH"
    assert "不存在" in problem.message
    assert "fonts-wqy-zenhei" in problem.message


def test_explicit_file_that_is_not_a_font_is_rejected(tmp_path: Path) -> None:
    bogus = tmp_path / "font.ttf"
    bogus.write_text("not a font", encoding="utf-8")
    with pytest.raises(InputError, match="无法读取"):
        fonts.cjk_font_path(bogus)


@needs_dejavu
def test_explicit_font_without_chinese_glyphs_is_rejected() -> None:
    with pytest.raises(InputError, match="缺少中文字形"):
        fonts.cjk_font_path(DEJAVU)


def test_no_font_anywhere_is_an_input_error_saying_how_to_fix(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _no_system_fonts(monkeypatch)
    with pytest.raises(InputError) as caught:
        fonts.cjk_font_path()
    (problem,) = caught.value.problems
    assert "未找到含中文字形的字体" in problem.message
    assert "apt-get install fonts-wqy-zenhei" in problem.message
    assert "PINGAN_FONT_PATH" in problem.message


@needs_wqy
def test_missing_fontconfig_falls_back_to_known_paths(monkeypatch: pytest.MonkeyPatch) -> None:
    _no_system_fonts(monkeypatch)
    monkeypatch.setattr(fonts, "KNOWN_PATHS", (Path("/nonexistent/font.ttc"), WQY))
    assert fonts.cjk_font_path() == WQY


@needs_wqy
@needs_dejavu
def test_a_fontconfig_answer_without_chinese_glyphs_is_skipped(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # `fc-match :lang=zh` answers DejaVu on a machine that has WenQuanYi: never trust the
    # first answer, check the glyphs.
    def fake_run(args: list[str], **_kw: Any) -> subprocess.CompletedProcess[str]:
        return subprocess.CompletedProcess(args, 0, stdout=f"{DEJAVU}:\n{WQY}:\n", stderr="")

    monkeypatch.setattr(fonts.shutil, "which", lambda _name: "/usr/bin/fc-list")
    monkeypatch.setattr(fonts.subprocess, "run", fake_run)
    monkeypatch.setattr(fonts, "KNOWN_PATHS", ())
    assert fonts.cjk_font_path() == WQY


@needs_wqy
def test_reportlab_font_is_registered_once_under_one_name() -> None:
    first = fonts.register_reportlab_font(WQY)
    assert fonts.register_reportlab_font(WQY) == first
    assert first in pdfmetrics.getRegisteredFontNames()


@needs_wqy
def test_matplotlib_gets_the_same_font_file() -> None:
    props = fonts.matplotlib_font_properties(WQY)
    assert Path(props.get_file()) == WQY

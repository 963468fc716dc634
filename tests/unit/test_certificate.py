"""pingan.adapters.render.certificate: the 荣誉证书 PDF a named cell receives."""

from __future__ import annotations

import dataclasses
import html
import re
import shutil
import subprocess
from datetime import date
from pathlib import Path

import pytest
from PIL import Image
from pypdf import PdfReader
from reportlab.pdfbase import pdfmetrics  # type: ignore[import-untyped]

from pingan.adapters.render import files
from pingan.adapters.render.certificate import (
    PAGE_HEIGHT,
    PAGE_WIDTH,
    CertificateData,
    certificate_bytes,
    chinese_date,
    safe_stem,
    write_certificate,
    write_certificate_bundle,
    write_certificates,
)
from pingan.adapters.render.fonts import register_reportlab_font
from pingan.adapters.render.pdf import fit_text

CERT = CertificateData(
    campaign_name="2017年度徐城街道重点领域和行业“平安细胞”创建活动",
    title="平安校园",
    cell_name="徐城街道中心小学",
    cell_code="XC-C-0001",
    village="东门村",
    number="徐城平安校园〔2017〕第001号",
    verification_code="7KQ4-M2XD",
    issued_on=date(2017, 11, 20),
    issuers=("徐城街道社会治安综合治理委员会", "徐城街道教育办公室"),
    verify_hint="凭证书编号与验证码向徐城街道综治中心核验",
)
LONG_NAME = "徐城街道" + "东门村第三村民小组二号楼甲单元" * 5 + "平安家庭示范户"  # 86 characters

needs_poppler = pytest.mark.skipif(
    shutil.which("pdftoppm") is None or shutil.which("pdftotext") is None,
    reason="poppler-utils (pdftoppm, pdftotext) is not installed; .ci/run installs it",
)


def _flat(text: str) -> str:
    return re.sub(r"\s+", "", text)


@pytest.fixture(scope="module")
def pdf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cert") / "cert.pdf"
    write_certificate(CERT, path)
    return path


def test_text_extracts_as_the_right_chinese(pdf: Path) -> None:
    text = _flat(PdfReader(pdf).pages[0].extract_text())
    for expected in (
        "荣誉证书",
        CERT.cell_name,
        f"“{CERT.title}”",
        CERT.number,
        CERT.verification_code,
        *CERT.issuers,
        "二〇一七年十一月二十日",
        "特发此证",
    ):
        assert expected in text


def test_every_font_is_embedded(pdf: Path) -> None:
    page = PdfReader(pdf).pages[0]
    font_dicts = [ref.get_object() for ref in page["/Resources"]["/Font"].values()]
    assert font_dicts
    for font in font_dicts:
        descriptor = font["/FontDescriptor"].get_object()
        assert "/FontFile2" in descriptor or "/FontFile3" in descriptor, font["/BaseFont"]


def test_page_is_a4(pdf: Path) -> None:
    box = PdfReader(pdf).pages[0].mediabox
    size = sorted((float(box.width), float(box.height)))
    assert size == pytest.approx([595.28, 841.89], abs=1.0)


@needs_poppler
def test_renders_to_a_png_that_is_not_blank(pdf: Path, tmp_path: Path) -> None:
    subprocess.run(
        ["pdftoppm", "-r", "50", "-png", "-singlefile", str(pdf), str(tmp_path / "page")],
        check=True,
        capture_output=True,
    )
    image = Image.open(tmp_path / "page.png").convert("L")
    dark = sum(image.histogram()[:128])
    # The paper is tinted, so count ink (border, title, text), not merely non-white pixels.
    assert dark > 0.01 * image.width * image.height


def _word_boxes(pdf: Path) -> list[tuple[float, float, float, float, str]]:
    out = subprocess.run(
        ["pdftotext", "-bbox", str(pdf), "-"], check=True, capture_output=True, text=True
    ).stdout
    pattern = r'xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)<'
    return [
        (float(a), float(b), float(c), float(d), html.unescape(w))
        for a, b, c, d, w in re.findall(pattern, out)
    ]


@needs_poppler
def test_a_very_long_cell_name_stays_inside_the_border(tmp_path: Path) -> None:
    path = tmp_path / "long.pdf"
    write_certificate(dataclasses.replace(CERT, cell_name=LONG_NAME), path)
    boxes = _word_boxes(path)
    inset = 30.0  # the gold inner border
    assert boxes
    for x0, y0, x1, y1, word in boxes:
        assert inset <= x0 and x1 <= PAGE_WIDTH - inset, word
        assert inset <= y0 and y1 <= PAGE_HEIGHT - inset, word
    assert LONG_NAME in _flat(PdfReader(path).pages[0].extract_text())


def test_fitted_lines_never_exceed_the_width() -> None:
    font = register_reportlab_font()
    fitted = fit_text(LONG_NAME * 3, font, 300, max_size=25, min_size=9, max_lines=3)
    assert fitted.size >= 9
    for line in fitted.lines:
        assert pdfmetrics.stringWidth(line, font, fitted.size) <= 300


def test_a_line_never_starts_with_closing_punctuation() -> None:
    font = register_reportlab_font()
    text = "在活动中，经考核验收，成绩合格，被命名为“平安校园”。特发此证。" * 4
    for width in range(120, 400, 7):
        fitted = fit_text(text, font, width, max_size=12, min_size=12, max_lines=99)
        assert not any(line[0] in "，。”" for line in fitted.lines[1:]), width


@pytest.mark.parametrize(
    ("day", "written"),
    [
        (date(2017, 11, 20), "二〇一七年十一月二十日"),
        (date(2017, 11, 30), "二〇一七年十一月三十日"),
        (date(2018, 1, 5), "二〇一八年一月五日"),
        (date(2017, 12, 31), "二〇一七年十二月三十一日"),
        (date(2017, 10, 10), "二〇一七年十月十日"),
    ],
)
def test_chinese_date(day: date, written: str) -> None:
    assert chinese_date(day) == written


def test_rendering_the_same_award_twice_gives_the_same_bytes() -> None:
    assert certificate_bytes(CERT) == certificate_bytes(CERT)


def _many(n: int) -> list[CertificateData]:
    return [
        dataclasses.replace(
            CERT,
            cell_code=f"XC-{i:04d}",
            number=f"徐城平安校园〔2017〕第{i:03d}号",
            cell_name=f"第{i}小学",
        )
        for i in range(1, n + 1)
    ]


def test_batch_writes_one_file_per_cell_and_leaves_no_temporaries(tmp_path: Path) -> None:
    paths = write_certificates(_many(5), tmp_path)
    assert [p.name for p in paths] == [f"XC-{i:04d}.pdf" for i in range(1, 6)]
    assert sorted(p.name for p in tmp_path.iterdir()) == [p.name for p in paths]


def test_a_failed_write_leaves_neither_the_file_nor_a_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def crash(_src: object, _dst: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(files.os, "replace", crash)
    with pytest.raises(OSError, match="disk full"):
        write_certificate(CERT, tmp_path / "cert.pdf")
    assert list(tmp_path.iterdir()) == []


def test_file_names_from_hostile_codes_stay_inside_the_directory(tmp_path: Path) -> None:
    hostile = dataclasses.replace(CERT, cell_code="../../etc/passwd")
    (path,) = write_certificates([hostile], tmp_path / "out")
    assert path.parent == tmp_path / "out"
    assert "/" not in path.name and not path.name.startswith(".")


def test_codes_that_differ_only_in_unsafe_characters_get_different_names() -> None:
    assert safe_stem("a/b") != safe_stem("a_b")
    assert safe_stem("XC-0001") == "XC-0001"


def test_two_certificates_with_one_file_name_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="both be written"):
        write_certificates([CERT, CERT], tmp_path)


def test_a_file_name_with_a_directory_part_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="plain file name"):
        write_certificates([CERT], tmp_path, filename=lambda d: f"../{d.cell_code}.pdf")


def test_bundle_has_one_page_per_certificate_in_order(tmp_path: Path) -> None:
    items = _many(3)
    items[1] = dataclasses.replace(items[1], verify_hint=None, village=None)
    path = tmp_path / "bundle.pdf"
    assert write_certificate_bundle(items, path) == 3
    pages = PdfReader(path).pages
    assert [
        _flat(p.extract_text()).count(item.number) for p, item in zip(pages, items, strict=True)
    ] == [1, 1, 1]


def test_parallel_workers_write_the_same_files_as_one_process(tmp_path: Path) -> None:
    items = _many(4)
    serial = write_certificates(items, tmp_path / "serial")
    parallel = write_certificates(items, tmp_path / "parallel", workers=2, batch_size=1)
    assert [p.name for p in parallel] == [p.name for p in serial]
    assert [p.read_bytes() for p in parallel] == [p.read_bytes() for p in serial]

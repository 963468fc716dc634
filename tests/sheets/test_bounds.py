"""Workbooks that claim far more cells than they hold — a 5 KB .xlsx with a cell at
XFD1048576 would make calamine lay out half a terabyte and abort the process — are read
within the memory budget of issue 17 (an .xlsx by openpyxl's streaming reader) or refused
with a Chinese problem (.xls, .ods)."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import openpyxl
import pytest
import xlwt

from pingan.adapters.intake.extent import xlsx_extents
from tests.factories import ROOT
from tests.sheets._books import ROSTER_HEADER, VILLAGE, ods_cell, write_ods

CHILD = "tests.robustness._bounded_child"
SECONDS = 10.0


def bounded(kind: str, path: Path) -> dict[str, object]:
    proc = subprocess.run(
        [sys.executable, "-m", CHILD, kind, str(path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    report: dict[str, object] = json.loads(proc.stdout.strip().splitlines()[-1])
    return report


def far_xlsx(path: Path, row: int, column: int) -> Path:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(ROSTER_HEADER)
    sheet.append(VILLAGE)
    sheet.cell(row=row, column=column, value="远处")
    book.save(path)
    return path


@pytest.mark.parametrize(("row", "column"), [(1_048_576, 16_384), (1_048_576, 26), (100_000, 300)])
def test_xlsx_claiming_a_far_cell_is_read_within_the_budget(
    tmp_path: Path, row: int, column: int
) -> None:
    path = far_xlsx(tmp_path / "名册.xlsx", row, column)
    assert path.stat().st_size < 10_000
    with path.open("rb") as f:
        (extent,) = xlsx_extents(f)
    assert extent is not None and not extent.allowed()

    report = bounded("roster", path)

    problems = report["problems"]
    assert isinstance(problems, list)
    assert not any("无法打开" in p for p in problems)
    assert isinstance(report["elapsed"], float) and report["elapsed"] < SECONDS


@pytest.mark.parametrize(("row", "column", "bound"), [(40, 12, (50, 12)), (3, 16_384, (4, 16_384))])
def test_xlsx_of_modest_extent_is_allowed(
    tmp_path: Path, row: int, column: int, bound: tuple[int, int]
) -> None:
    path = far_xlsx(tmp_path / "名册.xlsx", row, column)
    with path.open("rb") as f:
        (extent,) = xlsx_extents(f)
    assert extent is not None and extent.allowed()
    assert (extent.rows, extent.columns) == bound


def test_xls_claiming_its_last_cell_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "名册.xls"
    xls = xlwt.Workbook(encoding="utf-8")
    sheet = xls.add_sheet("名册")
    for r, values in enumerate([ROSTER_HEADER, VILLAGE]):
        for c, value in enumerate(values):
            if value:
                sheet.write(r, c, value)
    sheet.write(65_535, 255, "远处")
    xls.save(str(path))

    report = bounded("roster", path)

    (problem,) = report["problems"]  # type: ignore[misc]
    assert "范围过大" in problem


def test_ods_repeating_a_filled_cell_a_hundred_million_times_is_refused(tmp_path: Path) -> None:
    row = (
        '<table:table-row table:number-rows-repeated="100000">'
        f"{ods_cell('x', 1000)}</table:table-row>"
    )
    path = write_ods(tmp_path / "名册.ods", f'<table:table table:name="名册">{row}</table:table>')

    report = bounded("roster", path)

    (problem,) = report["problems"]  # type: ignore[misc]
    assert "范围过大" in problem


@pytest.mark.parametrize(
    "far", ['<c\nr="XFD1048576"><v>1</v></c>', '<x:c r="XFD1048576"><v>1</v></c>']
)
def test_xlsx_cell_written_past_the_byte_searches_is_not_given_to_calamine(
    tmp_path: Path, far: str
) -> None:
    """calamine reads a tab or line break before an attribute, and a namespace prefix,
    as it reads a space: such a cell must not slip past the extent scan."""
    plain = far_xlsx(tmp_path / "plain.xlsx", 3, 3)
    path = tmp_path / "名册.xlsx"
    with zipfile.ZipFile(plain) as src, zipfile.ZipFile(path, "w") as out:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                data = data.replace(b"</sheetData>", f'<row r="3">{far}</row></sheetData>'.encode())
                data = data.replace(b"<worksheet ", b'<worksheet xmlns:x="urn:x" ', 1)
            out.writestr(info, data)
    with path.open("rb") as f:
        (extent,) = xlsx_extents(f)

    assert extent is None

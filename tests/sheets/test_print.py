"""Every workbook pingan writes prints on A4, one page wide, with its title and header rows
on every page; the ones signed on paper (roster, score sheet) carry a signature line."""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from pingan.adapters.intake.roster.template import write_roster_template
from pingan.adapters.intake.scores import write_template
from pingan.adapters.render.late_list import late_list_xlsx
from pingan.adapters.render.printing import A4, PAGE_NUMBERS
from pingan.adapters.render.public_list import PublicListEntry, write_public_list_xlsx
from pingan.adapters.render.report.xlsx import render_xlsx
from pingan.core.campaign import load_campaign
from pingan.core.scores import CellRef
from tests.unit.test_report_render import sample

CAMPAIGN = load_campaign("config/campaigns/xucheng-2017.yaml")


def assert_a4(ws: Any, *, landscape: bool, title_rows: str) -> None:
    setup = ws.page_setup
    assert int(setup.paperSize) == A4
    assert setup.orientation == ("landscape" if landscape else "portrait")
    assert (int(setup.fitToWidth), int(setup.fitToHeight)) == (1, 0)
    assert ws.sheet_properties.pageSetUpPr.fitToPage
    assert ws.print_title_rows == title_rows
    assert ws.oddFooter.right.text == PAGE_NUMBERS


def test_score_template_prints_landscape_with_headers_and_signatures(tmp_path: Path) -> None:
    path = write_template(
        CAMPAIGN, [CellRef("S01", "东村小学", "campus", None)], tmp_path / "t.xlsx"
    )

    for ws in openpyxl.load_workbook(path).worksheets:
        assert_a4(ws, landscape=True, title_rows="$1:$2")
        assert "考核人（签字）" in ws.oddFooter.left.text and "日期" in ws.oddFooter.left.text


def test_roster_template_prints_with_its_header_and_a_line_to_sign_and_stamp(
    tmp_path: Path,
) -> None:
    ws = openpyxl.load_workbook(write_roster_template(CAMPAIGN, tmp_path / "t.xlsx"))["名册"]

    assert_a4(ws, landscape=True, title_rows="$1:$1")
    assert "填报单位（盖章）" in ws.oddFooter.left.text


@pytest.fixture(scope="module")
def public_list(tmp_path_factory: pytest.TempPathFactory) -> Any:
    entries = [
        PublicListEntry(
            domain="平安校园",
            number=f"徐城平安校园〔2017〕第{i:03d}号",
            cell_name=f"第{i}小学",
            cell_code=f"S{i:02d}",
            village="东村",
            lead_unit="街道教办",
            issued_on=date(2017, 11, 20),
            revoked=i == 2,
            revoked_reason="复查未达标" if i == 2 else None,
        )
        for i in range(1, 4)
    ]
    out = tmp_path_factory.mktemp("list") / "公示名单.xlsx"
    write_public_list_xlsx("公示名单", entries, out)
    return openpyxl.load_workbook(out)


def test_public_list_workbook_prints_every_sheet_on_a4(public_list: Any) -> None:
    assert_a4(public_list["汇总"], landscape=False, title_rows="$1:$2")
    assert_a4(public_list["平安校园"], landscape=True, title_rows="$1:$1")
    # A published list is not signed: no signature line.
    assert not public_list["平安校园"].oddFooter.left.text


def test_late_list_prints_landscape_with_title_and_header(tmp_path: Path) -> None:
    item = {
        "domain": "平安校园",
        "village": "东村",
        "unit": "东村小学",
        "gate": "自查报告",
        "due_on": date(2017, 10, 31),
        "days_overdue": 3,
        "level": 1,
    }
    ws = openpyxl.load_workbook(io.BytesIO(late_list_xlsx("逾期事项", [item])))["逾期事项"]

    assert_a4(ws, landscape=True, title_rows="$1:$2")


def test_report_workbook_prints_landscape_with_each_lists_header(tmp_path: Path) -> None:
    book = openpyxl.load_workbook(io.BytesIO(render_xlsx(sample())))

    late = book["逾期事项"]
    header_row = int(late.print_title_rows.split(":")[0].lstrip("$"))
    assert late.cell(header_row, 1).font.bold
    assert_a4(late, landscape=True, title_rows=late.print_title_rows)

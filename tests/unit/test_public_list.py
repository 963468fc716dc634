"""pingan.adapters.render.public_list: the 公示名单 as PDF and XLSX."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import openpyxl
import pytest
from pypdf import PdfReader

from pingan.adapters.render.public_list import (
    REVOKED_HEADING,
    PublicListEntry,
    write_public_list_pdf,
    write_public_list_xlsx,
)

TITLE = "2017年度徐城街道重点领域和行业“平安细胞”创建活动命名单位公示名单"
SUBTITLE = "徐城街道社会治安综合治理委员会　2017年11月20日"
DOMAINS = (("平安校园", "街道教办"), ("平安医院", "徐城卫生院"), ("平安企业", "街道安监办"))
REASON = "发生重大消防安全事故，经复查撤销命名"
LONG_NAME = "徐城街道" + "东门村第三村民小组二号楼甲单元" * 6 + "平安家庭示范户"


def _entries(n: int) -> list[PublicListEntry]:
    out = []
    for i in range(n):
        domain, lead = DOMAINS[i * len(DOMAINS) // n]
        out.append(
            PublicListEntry(
                domain=domain,
                number=f"徐城{domain}〔2017〕第{i + 1:03d}号",
                cell_name=LONG_NAME if i == 7 else f"徐城街道第{i}号单位",
                cell_code=f"XC{i:06d}",
                village=None if i % 10 == 3 else f"{'东西南北'[i % 4]}门村",
                lead_unit=lead,
                issued_on=date(2017, 11, 20),
                revoked=i in (5, 150),
                revoked_reason=REASON if i in (5, 150) else None,
            )
        )
    return out


ENTRIES = _entries(200)


def _flat(text: str) -> str:
    return re.sub(r"\s+", "", text)


@pytest.fixture(scope="module")
def pdf(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, list[str]]:
    path = tmp_path_factory.mktemp("list") / "list.pdf"
    pages = write_public_list_pdf(TITLE, SUBTITLE, ENTRIES, path)
    return pages, [_flat(p.extract_text()) for p in PdfReader(path).pages]


def test_pdf_lists_every_entry_number_exactly_once(pdf: tuple[int, list[str]]) -> None:
    text = "".join(pdf[1])
    assert [text.count(e.number) for e in ENTRIES] == [1] * len(ENTRIES)


def test_pdf_paginates_and_reports_its_page_count(pdf: tuple[int, list[str]]) -> None:
    count, pages = pdf
    assert count == len(pages) > 1


def test_every_pdf_page_repeats_the_table_header(pdf: tuple[int, list[str]]) -> None:
    for text in pdf[1]:
        assert "序号" in text and "命名编号" in text and "单位名称" in text


def test_every_pdf_page_is_numbered(pdf: tuple[int, list[str]]) -> None:
    count, pages = pdf
    for n, text in enumerate(pages, start=1):
        assert f"第{n}页共{count}页" in text


def test_a_section_continued_on_a_new_page_says_so(pdf: tuple[int, list[str]]) -> None:
    assert "一、平安校园（续）" in pdf[1][1]


def test_revoked_entries_are_listed_apart_with_their_reason(pdf: tuple[int, list[str]]) -> None:
    text = "".join(pdf[1])
    revoked_at = text.index(REVOKED_HEADING)
    for e in ENTRIES:
        if e.revoked:
            assert text.index(e.number) > revoked_at
        else:
            assert text.index(e.number) < revoked_at
    assert text.count(REASON) == 2


def test_a_long_cell_name_wraps_in_full(pdf: tuple[int, list[str]]) -> None:
    assert LONG_NAME in "".join(pdf[1])


def test_the_lead_unit_is_named_once_per_domain(pdf: tuple[int, list[str]]) -> None:
    first = pdf[1][0]
    assert "牵头单位：街道教办" in first
    assert first.count("街道教办") == 1


def test_an_empty_list_still_gives_a_page_saying_so(tmp_path: Path) -> None:
    path = tmp_path / "empty.pdf"
    assert write_public_list_pdf(TITLE, "", [], path) == 1
    assert "本期无命名单位" in PdfReader(path).pages[0].extract_text()


@pytest.fixture(scope="module")
def book(tmp_path_factory: pytest.TempPathFactory) -> openpyxl.Workbook:
    hostile = PublicListEntry(
        domain="平安校园",
        number="徐城平安校园〔2017〕第999号",
        cell_name='=HYPERLINK("http://evil.example","点击")',
        cell_code="+XC999",
        village="@村",
        lead_unit="街道教办",
        issued_on=date(2017, 11, 20),
    )
    directory = tmp_path_factory.mktemp("xlsx")
    write_public_list_xlsx(TITLE, [*ENTRIES, hostile], directory / "list.xlsx")
    assert [p.name for p in directory.iterdir()] == ["list.xlsx"]  # no temporaries left
    return openpyxl.load_workbook(directory / "list.xlsx")


def test_xlsx_has_a_summary_then_one_sheet_per_domain_then_revocations(
    book: openpyxl.Workbook,
) -> None:
    assert book.sheetnames == ["汇总", "平安校园", "平安医院", "平安企业", REVOKED_HEADING]


def test_xlsx_neutralises_formula_injection(book: openpyxl.Workbook) -> None:
    rows = list(book["平安校园"].iter_rows(values_only=True))
    (row,) = [r for r in rows if r[1] == "徐城平安校园〔2017〕第999号"]
    assert row[2] == '\'=HYPERLINK("http://evil.example","点击")'
    assert row[3] == "'+XC999"
    assert row[4] == "'@村"


def test_xlsx_header_is_bold_and_frozen(book: openpyxl.Workbook) -> None:
    ws = book["平安医院"]
    assert ws.freeze_panes == "A2"
    assert [c.value for c in ws[1]] == [
        "序号",
        "命名编号",
        "单位名称",
        "单位编码",
        "村（社区）",
        "牵头单位",
        "命名日期",
    ]
    assert all(c.font.bold for c in ws[1])
    assert ws.column_dimensions["C"].width >= 30


def test_xlsx_revoked_entries_only_on_their_own_sheet_with_reason(
    book: openpyxl.Workbook,
) -> None:
    revoked = {e.number for e in ENTRIES if e.revoked}
    for name in ("平安校园", "平安医院", "平安企业"):
        numbers = {r[1] for r in book[name].iter_rows(min_row=2, values_only=True)}
        assert not numbers & revoked
    rows = list(book[REVOKED_HEADING].iter_rows(min_row=2, values_only=True))
    assert {r[1] for r in rows} == revoked
    assert {r[-1] for r in rows} == {REASON}


def test_xlsx_summary_counts_named_and_revoked(book: openpyxl.Workbook) -> None:
    rows = list(book["汇总"].iter_rows(min_row=3, values_only=True))
    named = {r[0]: (r[2], r[3]) for r in rows}
    per_domain = {
        d: (
            sum(1 for e in ENTRIES if e.domain == d and not e.revoked) + (d == "平安校园"),
            sum(1 for e in ENTRIES if e.domain == d and e.revoked),
        )
        for d, _ in DOMAINS
    }
    assert named == {**per_domain, "合计": (len(ENTRIES) - 2 + 1, 2)}


def test_xlsx_dates_are_real_dates(book: openpyxl.Workbook) -> None:
    cell = book["平安企业"]["G2"]
    assert cell.value.date() == date(2017, 11, 20)
    assert cell.number_format == "yyyy-mm-dd"

"""Hostile score sheets: filled templates with junk in any cell, renamed and extra sheets,
deleted header rows, damaged workbooks, mutated and wrongly encoded CSVs and random bytes
are each read to an ImportResult — rows only when there is no problem, and every problem
naming the file in Chinese. read_scores never raises."""

from __future__ import annotations

import csv
import io
import math
import zipfile
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pingan.adapters.intake.scores import ImportResult, read_scores, write_template
from pingan.core.campaign import Campaign, load_campaign
from pingan.core.problems import InputError
from pingan.core.scores import CellRef
from tests.robustness._hostile import check_problems, hostile_settings, nasty_text

REPO = Path(__file__).resolve().parents[2]
CAMPAIGN: Campaign = load_campaign(REPO / "config" / "campaigns" / "xucheng-2017.yaml")
WINDOW = (date(2017, 11, 11), date(2017, 11, 18))
TODAY = date(2017, 11, 20)
SETTINGS = hostile_settings(40)
LETTERS = {"campus": "S", "hospital": "H", "family": "F", "enterprise": "E"}
CELLS = {
    f"{letter}{i:02d}": CellRef(f"{letter}{i:02d}", f"{letter}单位{i}", domain, f"v{i % 2}")
    for domain, letter in LETTERS.items()
    for i in range(1, 4)
}

cell_values = st.one_of(
    nasty_text,
    st.integers(min_value=-(2**80), max_value=2**80),
    st.floats(allow_nan=False),
    st.floats(allow_nan=False).map(str),
    st.sampled_from(["nan", "inf", "-0", "1e999", "１０", "是", "否", "TRUE", "#DIV/0!", "=1+1"]),
    st.booleans(),
    st.dates(min_value=date(1900, 3, 1), max_value=date(9999, 12, 31)),
    st.datetimes(min_value=datetime(1900, 3, 1), max_value=datetime(9999, 12, 31)),
    st.sampled_from(["2017-11-15", "2017年11月15日", "2017/02/30", "9999-99-99", None]),
)


def _writable(value: Any) -> Any:
    # What a spreadsheet program can hold: no control characters, no NaN.
    if isinstance(value, str):
        return "".join(ch for ch in value if ch >= " " or ch in "\t\n\r").replace("\ud800", "")
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 2**53:
        return float(value)
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    yield tmp_path_factory.mktemp("hostile-scores")


@pytest.fixture(scope="module")
def template(folder: Path) -> bytes:
    """The template with every row filled in correctly: junk lands among good data."""
    path = write_template(CAMPAIGN, list(CELLS.values()), folder / "模板.xlsx")
    book = openpyxl.load_workbook(path)
    for ws in book.worksheets:
        keys = {ws.cell(3, col).value: col for col in range(1, ws.max_column + 1)}
        domain = next(d for d in CAMPAIGN.domains if d.name == ws.title)
        for row in range(4, ws.max_row + 1):
            if ws.cell(row, keys["code"]).value is None:
                continue  # a spare row, left for units added by hand
            for c in domain.rubric.criteria:
                ws.cell(row, keys[f"c:{c.key}"], c.points)
            ws.cell(row, keys["assessor"], "张三")
            ws.cell(row, keys["assessed_on"], date(2017, 11, 15))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def read(path: Path, data: bytes) -> ImportResult:
    path.write_bytes(data)
    result = read_scores(path, CAMPAIGN, CELLS, today=TODAY, window=WINDOW)
    assert isinstance(result, ImportResult)
    if result.problems:
        check_problems(result.problems, str(path))
        assert result.rows == []
    for row in result.rows:
        assert row.cell in CELLS and WINDOW[0] <= row.assessed_on <= WINDOW[1]
    return result


@SETTINGS
@given(data=st.binary(max_size=2000), suffix=st.sampled_from([".csv", ".xlsx", ".xls"]))
def test_random_bytes_never_raise(folder: Path, data: bytes, suffix: str) -> None:
    read(folder / f"评分{suffix}", data)


# openpyxl warns about what it repairs (no stylesheet, dates out of range).
@pytest.mark.filterwarnings("ignore::UserWarning")
@SETTINGS
@given(data=st.data())
def test_templates_filled_with_junk_never_raise(
    folder: Path, template: bytes, data: st.DataObject
) -> None:
    book = openpyxl.load_workbook(io.BytesIO(template))
    for _ in range(data.draw(st.integers(1, 6))):
        ws = book.worksheets[data.draw(st.integers(0, len(book.worksheets) - 1))]
        op = data.draw(
            st.sampled_from(["cell", "cell", "cell", "rename", "delete_rows", "insert", "sheet"])
        )
        if op == "cell":
            ws.cell(
                data.draw(st.integers(1, ws.max_row + 3)),
                data.draw(st.integers(1, ws.max_column + 3)),
                _writable(data.draw(cell_values)),
            )
        elif op == "rename":
            ws.title = data.draw(st.sampled_from(["Sheet1", "平安 校园", "平安医院", "x" * 30]))
        elif op == "delete_rows":
            ws.delete_rows(data.draw(st.integers(1, 4)), data.draw(st.integers(1, 3)))
        elif op == "insert":
            ws.insert_rows(1, data.draw(st.integers(1, 12)))
        else:
            extra = book.create_sheet()
            extra.append([_writable(data.draw(cell_values)) for _ in range(3)])
    out = io.BytesIO()
    book.save(out)
    read(folder / "评分.xlsx", out.getvalue())


@pytest.fixture(scope="module")
def csv_rows() -> list[list[Any]]:
    """A CSV score sheet for the campus domain with one full-marks row."""
    rubric = CAMPAIGN.domain("campus").rubric
    keys = [f"c:{c.key}" for c in rubric.criteria] + [f"d:{d.key}" for d in rubric.deductions]
    keys += [f"v:{v.key}" for v in rubric.vetoes]
    header = ["单位编码", "单位名称", "领域", *keys, "考核人", "考核日期"]
    scores = [c.points for c in rubric.criteria] + [""] * len(rubric.deductions)
    scores += ["否"] * len(rubric.vetoes)
    return [header, ["S01", "S单位1", "平安校园", *scores, "张三", "2017-11-15"]]


def test_unspoilt_sheets_import_every_row(
    folder: Path, template: bytes, csv_rows: list[list[Any]]
) -> None:
    """The starting points of the properties below are good data."""
    assert len(read(folder / "评分.xlsx", template).rows) == len(CELLS)
    buffer = io.StringIO()
    csv.writer(buffer).writerows(csv_rows)
    assert len(read(folder / "评分.csv", buffer.getvalue().encode()).rows) == 1


@SETTINGS
@given(data=st.data(), encoding=st.sampled_from(["utf-8", "utf-8-sig", "gb18030", "utf-16"]))
def test_mutated_csv_sheets_never_raise(
    folder: Path, csv_rows: list[list[Any]], data: st.DataObject, encoding: str
) -> None:
    table = [list(r) for r in csv_rows]
    for _ in range(data.draw(st.integers(1, 5))):
        r = data.draw(st.integers(0, len(table) - 1))
        c = data.draw(st.integers(0, len(table[r])))
        op = data.draw(st.sampled_from(["set", "drop_col", "dup_row", "extra", "huge", "blank"]))
        if op == "set" and c < len(table[r]):
            table[r][c] = data.draw(cell_values)
        elif op == "drop_col":
            for row in table:
                if c < len(row):
                    del row[c]
        elif op == "dup_row":
            table.insert(r, list(table[r]))
        elif op == "extra":
            table[r].append(data.draw(nasty_text))
        elif op == "huge" and c < len(table[r]):
            table[r][c] = "分" * data.draw(st.sampled_from([1001, 200_000]))
        elif op == "blank":
            table.insert(r, [])
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(table)
    errors = "surrogatepass" if encoding.startswith("utf-8") else "replace"
    read(folder / "评分.csv", buffer.getvalue().encode(encoding, errors=errors))


@SETTINGS
@given(data=st.data())
@pytest.mark.filterwarnings("ignore::UserWarning")
def test_damaged_workbooks_never_raise(folder: Path, template: bytes, data: st.DataObject) -> None:
    op = data.draw(st.sampled_from(["truncate", "flip", "drop_member", "replace_member"]))
    if op == "truncate":
        damaged = template[: data.draw(st.integers(0, len(template) - 1))]
    elif op == "flip":
        at = data.draw(st.integers(0, len(template) - 1))
        flipped = template[at] ^ data.draw(st.integers(1, 255))
        damaged = template[:at] + bytes([flipped]) + template[at + 1 :]
    else:
        with zipfile.ZipFile(io.BytesIO(template)) as zin:
            members = {name: zin.read(name) for name in zin.namelist()}
        victim = data.draw(st.sampled_from(sorted(members)))
        if op == "drop_member":
            del members[victim]
        else:
            members[victim] = data.draw(
                st.sampled_from([b"", b"<x", b"<?xml version='1.0'?><a/>", b"\xff" * 10])
            )
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w") as zout:
            for name, content in members.items():
                zout.writestr(name, content)
        damaged = out.getvalue()
    read(folder / "评分.xlsx", damaged)


@pytest.mark.parametrize("where", ["under-a-file", "in-proc"])
def test_template_that_cannot_be_written_is_an_input_error(folder: Path, where: str) -> None:
    (folder / "已有文件").write_text("x")
    out = (
        folder / "已有文件" / "评分表.xlsx"
        if where == "under-a-file"
        else Path("/proc/评分表.xlsx")
    )
    with pytest.raises(InputError) as exc:
        write_template(CAMPAIGN, list(CELLS.values()), out)
    check_problems(exc.value.problems, str(out))

"""Hostile rosters: random bytes, wrong encodings, huge cells, missing, extra and shuffled
columns, mutated cells and damaged workbooks are each read to a result whose every problem
names the file (and, for a row, the row) in Chinese — read_roster never raises."""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pingan.adapters.intake.roster import read_roster
from pingan.core.campaign import Campaign, load_campaign
from pingan.core.roster import RosterResult
from pingan.services.synth import synth_roster
from tests.robustness._hostile import CJK, check_problems, hostile_settings, nasty_text

REPO = Path(__file__).resolve().parents[2]
SETTINGS = hostile_settings(50)


@pytest.fixture(scope="module")
def campaign() -> Campaign:
    return load_campaign(REPO / "config" / "campaigns" / "xucheng-2017.yaml")


@pytest.fixture(scope="module")
def rows(campaign: Campaign) -> list[list[str]]:
    """A valid synthetic roster: header, villages, cells."""
    return [list(r) for r in synth_roster(campaign, 12, 3)]


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    yield tmp_path_factory.mktemp("hostile-roster")


def check(result: RosterResult, path: Path) -> None:
    assert isinstance(result, RosterResult)
    if result.problems:
        check_problems(result.problems, str(path))
    if result.rows:
        # Rows that came back are clean: no control characters reach the database.
        for row in result.rows:
            assert row.code and row.name and "\x00" not in row.name


def read(path: Path, data: bytes, campaign: Campaign) -> RosterResult:
    path.write_bytes(data)
    result = read_roster(path, campaign)
    check(result, path)
    return result


def to_csv(table: list[list[str]]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(table)
    return buffer.getvalue()


# --- bytes and encodings ----------------------------------------------------------------


@SETTINGS
@given(data=st.binary(max_size=2000), suffix=st.sampled_from([".csv", ".xlsx", ".CSV", ".txt"]))
def test_random_bytes_never_raise(
    folder: Path, campaign: Campaign, data: bytes, suffix: str
) -> None:
    read(folder / f"roster{suffix}", data, campaign)


@SETTINGS
@given(
    encoding=st.sampled_from(["utf-16", "utf-16-le", "utf-32", "latin-1", "big5", "shift_jis"]),
    cut=st.integers(0, 50),
)
def test_wrong_encodings_are_named_as_such(
    folder: Path, campaign: Campaign, rows: list[list[str]], encoding: str, cut: int
) -> None:
    data = to_csv(rows).encode(encoding, errors="replace")
    read(folder / "roster.csv", data[: len(data) - cut], campaign)


# --- mutated tables ---------------------------------------------------------------------


@st.composite
def mutated_table(draw: st.DrawFn, base: list[list[str]]) -> list[list[str]]:
    table = [list(r) for r in base]
    for _ in range(draw(st.integers(1, 5))):
        op = draw(
            st.sampled_from(
                [
                    "cell",
                    "huge",
                    "drop_col",
                    "extra_col",
                    "shuffle_header",
                    "drop_row",
                    "dup_row",
                    "short_row",
                    "long_row",
                    "header_only",
                    "blank_rows",
                ]
            )
        )
        r = draw(st.integers(0, len(table) - 1))
        width = max(len(row) for row in table)
        c = draw(st.integers(0, max(width - 1, 0)))
        if op == "cell" and c < len(table[r]):
            table[r][c] = draw(nasty_text)
        elif op == "huge" and c < len(table[r]):
            table[r][c] = draw(st.sampled_from(["名", "a", "1", "\x00", '"'])) * draw(
                st.sampled_from([1001, 5000, 200_000])
            )
        elif op == "drop_col":
            for row in table:
                if c < len(row):
                    del row[c]
        elif op == "extra_col":
            names = st.sampled_from(["", "code", "备注"])
            for i, row in enumerate(table):
                row.insert(c, draw(nasty_text) if i else draw(names))
        elif op == "shuffle_header":
            table[0] = draw(st.permutations(table[0]))
        elif op == "drop_row" and len(table) > 1:
            del table[r]
        elif op == "dup_row":
            table.insert(r, list(table[r]))
        elif op == "short_row":
            table[r] = table[r][:c]
        elif op == "long_row":
            table[r] = table[r] + [draw(nasty_text) for _ in range(draw(st.integers(1, 40)))]
        elif op == "header_only":
            table = table[:1]
        elif op == "blank_rows":
            table.insert(r, [""] * draw(st.integers(0, 3)))
    return table


@SETTINGS
@given(data=st.data(), encoding=st.sampled_from(["utf-8", "utf-8-sig", "gb18030"]))
def test_mutated_csv_rosters_never_raise(
    folder: Path, campaign: Campaign, rows: list[list[str]], data: st.DataObject, encoding: str
) -> None:
    table = data.draw(mutated_table(rows))
    text = to_csv(table)
    errors = "surrogatepass" if encoding.startswith("utf") else "replace"
    read(folder / "roster.csv", text.encode(encoding, errors=errors), campaign)


@SETTINGS
@given(data=st.data(), raw=st.sampled_from([b'"', b"\x00", b"\r", b'a"b', b"\n\n\n", b"\xff"]))
def test_csv_with_stray_quotes_nuls_and_bad_bytes_never_raises(
    folder: Path, campaign: Campaign, rows: list[list[str]], data: st.DataObject, raw: bytes
) -> None:
    text = to_csv(rows).encode("utf-8")
    at = data.draw(st.integers(0, len(text)))
    read(folder / "roster.csv", text[:at] + raw + text[at:], campaign)


# --- workbooks --------------------------------------------------------------------------

xlsx_values = st.one_of(
    nasty_text,
    st.integers(min_value=-(2**63), max_value=2**63),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.dates(min_value=date(1900, 3, 1), max_value=date(9999, 12, 31)),
    st.datetimes(min_value=datetime(1900, 3, 1), max_value=datetime(9999, 12, 31)),
    st.sampled_from(["=1/0", "=SUM(A1:A3)", "#REF!", '=HYPERLINK("http://x")', None]),
)


def _safe(value: Any) -> Any:
    # openpyxl refuses control characters in cell text (IllegalCharacterError); a file
    # with them cannot be made by Excel either.
    if isinstance(value, str):
        return "".join(ch for ch in value if ch >= " " or ch in "\t\n\r").replace("\ud800", "")
    return value


def workbook(table: list[list[Any]], extra_sheets: int = 0, first_title: str = "名册") -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = first_title
    for row in table:
        sheet.append([_safe(v) for v in row])
    for i in range(extra_sheets):
        book.create_sheet(f"Sheet{i + 2}").append(["junk", 1, None])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


# openpyxl warns about what it repairs (no stylesheet, dates out of range).
@pytest.mark.filterwarnings("ignore::UserWarning")
@SETTINGS
@given(data=st.data(), extra=st.integers(0, 2))
def test_workbooks_with_junk_cells_never_raise(
    folder: Path, campaign: Campaign, rows: list[list[str]], data: st.DataObject, extra: int
) -> None:
    table: list[list[Any]] = [list(r) for r in data.draw(mutated_table(rows))]
    for _ in range(data.draw(st.integers(0, 6))):
        r = data.draw(st.integers(0, len(table) - 1))
        c = data.draw(st.integers(0, 14))
        while len(table[r]) <= c:
            table[r].append(None)
        table[r][c] = data.draw(xlsx_values)
    read(folder / "roster.xlsx", workbook(table, extra), campaign)


@pytest.fixture(scope="module")
def good_workbook(rows: list[list[str]]) -> bytes:
    # Made once: each save stamps the time, and the draws below depend on the length.
    return workbook(rows)


# openpyxl warns about what it repairs (no stylesheet, dates out of range).
@pytest.mark.filterwarnings("ignore::UserWarning")
@SETTINGS
@given(data=st.data())
def test_damaged_workbooks_never_raise(
    folder: Path, campaign: Campaign, good_workbook: bytes, data: st.DataObject
) -> None:
    good = good_workbook
    op = data.draw(st.sampled_from(["truncate", "flip", "drop_member", "replace_member"]))
    if op == "truncate":
        damaged = good[: data.draw(st.integers(0, len(good) - 1))]
    elif op == "flip":
        at = data.draw(st.integers(0, len(good) - 1))
        damaged = good[:at] + bytes([good[at] ^ data.draw(st.integers(1, 255))]) + good[at + 1 :]
    else:
        with zipfile.ZipFile(io.BytesIO(good)) as zin:
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
    read(folder / "roster.xlsx", damaged, campaign)


# --- cases worth stating on their own ---------------------------------------------------


def test_a_huge_cell_is_reported_by_row_and_length(
    folder: Path, campaign: Campaign, rows: list[list[str]]
) -> None:
    table = [list(r) for r in rows]
    table[5][1] = "名" * 300_000  # beyond csv's default field limit of 131,072
    result = read(folder / "roster.csv", to_csv(table).encode("utf-8"), campaign)
    assert result.problems and all(CJK.search(p.message) for p in result.problems)
    assert any("第 6 行" in p.where for p in result.problems)


def test_missing_required_column_is_named(
    folder: Path, campaign: Campaign, rows: list[list[str]]
) -> None:
    table = [r[:1] + r[2:] for r in rows]  # no name column
    result = read(folder / "roster.csv", to_csv(table).encode("utf-8"), campaign)
    assert any("名称" in p.message for p in result.problems)

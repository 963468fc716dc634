"""Issue 17, finding 11: a roster email with anything but an address in it — a Chinese
comma typed after it (name@163.com，), a full-width character, a trailing 。 — is refused
with a message naming the row and the column, in the CSV and in the workbook alike."""

from __future__ import annotations

import csv
from pathlib import Path

import openpyxl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pingan.adapters.intake.roster import read_roster
from pingan.core.campaign import Campaign, load_campaign
from tests.factories import SEED_CONFIG
from tests.robustness._hostile import hostile_settings

HEADER = ["code", "name", "type", "domain", "village", "category", "email"]
VILLAGE = ["v01", "东村", "村社区", "", "", "", ""]


def school(email: str) -> list[str]:
    return ["c01", "东村小学", "创建单位", "平安校园", "v01", "小学", email]


@pytest.fixture(scope="module")
def campaign() -> Campaign:
    return load_campaign(SEED_CONFIG)


def write(path: Path, email: str) -> Path:
    rows = [HEADER, VILLAGE, school(email)]
    if path.suffix == ".csv":
        with path.open("w", encoding="utf-8", newline="") as fh:
            csv.writer(fh).writerows(rows)
    else:
        book = openpyxl.Workbook()
        sheet = book.active
        assert sheet is not None
        for row in rows:
            sheet.append(row)
        book.save(path)
    return path


# Full-width and CJK punctuation a Chinese keyboard types next to an address, and other
# characters no mail server here accepts in one (spaces at the ends are trimmed, as for
# every cell, so they are not among them).
NOT_IN_AN_ADDRESS = st.sampled_from("，。；、：！？（）＠．\u200b张")


@hostile_settings(40)
@given(
    local=st.from_regex(r"[a-z][a-z0-9._]{0,10}[a-z0-9]", fullmatch=True).filter(
        lambda s: ".." not in s
    ),
    domain=st.sampled_from(["163.com", "qq.com", "xuzhou.gov.cn", "mail.example.org"]),
    junk=NOT_IN_AN_ADDRESS,
    at_end=st.booleans(),
)
def test_email_with_a_character_outside_an_address_is_refused_at_its_row_and_column(
    tmp_path_factory: pytest.TempPathFactory,
    campaign: Campaign,
    local: str,
    domain: str,
    junk: str,
    at_end: bool,
) -> None:
    email = f"{local}@{domain}{junk}" if at_end else f"{local}{junk}@{domain}"
    path = write(tmp_path_factory.mktemp("r") / "名册.csv", email)
    result = read_roster(path, campaign)
    assert [p.where for p in result.problems] == ["第 3 行 邮箱"], result.problems
    assert "不是有效的邮箱地址" in result.problems[0].message
    assert [r.code for r in result.rows] == ["v01"]


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_chinese_comma_after_an_address_is_refused(
    tmp_path: Path, campaign: Campaign, suffix: str
) -> None:
    result = read_roster(write(tmp_path / f"名册{suffix}", "name@163.com，"), campaign)
    (problem,) = result.problems
    assert problem.where.endswith("第 3 行 邮箱") or problem.where.endswith("第 3 行 G 列（邮箱）")
    assert "'name@163.com，' 不是有效的邮箱地址" in problem.message

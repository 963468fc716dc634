"""Damaged .xls and .ods rosters and score sheets — bytes changed or cut anywhere — are read
to a result whose every problem names the file in Chinese: calamine's errors and panics
become "文件已损坏", and a used range stated absurdly is refused before calamine lays it
out (an .xls whose DIMENSIONS record was hit once asked for 1.3 TB and aborted)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pingan.adapters.intake.roster import read_roster
from pingan.adapters.intake.scores import read_scores
from pingan.core.campaign import Campaign, load_campaign
from tests.robustness._hostile import check_problems, hostile_settings
from tests.sheets._books import ROSTER_HEADER, SCHOOL, VILLAGE, ods_table, write_ods, write_xls

SETTINGS = hostile_settings(60)


@pytest.fixture(scope="module")
def campaign() -> Campaign:
    return load_campaign("config/campaigns/xucheng-2017.yaml")


@pytest.fixture(scope="module")
def books(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    folder = tmp_path_factory.mktemp("books")
    rows = [ROSTER_HEADER, VILLAGE, SCHOOL]
    return {
        ".xls": write_xls(folder / "r.xls", rows).read_bytes(),
        ".ods": write_ods(folder / "r.ods", ods_table(rows, trailing=False)).read_bytes(),
    }


@st.composite
def damaged(draw: st.DrawFn, original: bytes) -> bytes:
    data = bytearray(original)
    for _ in range(draw(st.integers(1, 12))):
        at = draw(st.integers(0, len(data) - 1))
        data[at] = draw(st.integers(0, 255))
    if draw(st.booleans()):
        data = data[: draw(st.integers(0, len(data)))]
    return bytes(data)


@SETTINGS
@given(suffix=st.sampled_from([".xls", ".ods"]), data=st.data())
def test_damaged_workbooks_never_raise(
    tmp_path_factory: pytest.TempPathFactory,
    campaign: Campaign,
    books: dict[str, bytes],
    suffix: str,
    data: st.DataObject,
) -> None:
    path = tmp_path_factory.mktemp("d") / f"名册{suffix}"
    path.write_bytes(data.draw(damaged(books[suffix])))

    roster = read_roster(path, campaign)
    scores = read_scores(
        path,
        campaign,
        {},
        today=date(2017, 11, 20),
        window=(date(2017, 11, 11), date(2017, 11, 30)),
    )

    for problems in (roster.problems, scores.problems):
        if problems:
            check_problems(problems, str(path))


def test_xls_stating_a_backwards_used_range_is_refused(tmp_path: Path, campaign: Campaign) -> None:
    path = write_xls(tmp_path / "名册.xls", [ROSTER_HEADER, VILLAGE])
    data = bytearray(path.read_bytes())
    at = data.index(bytes.fromhex("0002 0e00")) + 4  # DIMENSIONS, 14 bytes: rows from 56,064
    data[at : at + 4] = (56_064).to_bytes(4, "little")
    path.write_bytes(bytes(data))

    (problem,) = read_roster(path, campaign).problems

    assert "范围过大" in problem.message

from __future__ import annotations

import csv
import inspect
import re
import time
from collections import Counter
from functools import cache
from itertools import islice
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pingan.core.campaign import Campaign, load_campaign
from pingan.services.synth import HEADER, domain_counts, synth_roster, village_count, write_roster

CONFIG = Path(__file__).resolve().parents[2] / "config" / "campaigns" / "xucheng-2017.yaml"
CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
MOBILE = re.compile(r"^1[3-9]\d{9}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
SECRET_REF = re.compile(r"^secret:[A-Za-z0-9][A-Za-z0-9_.-]*$")


@cache
def _campaign() -> Campaign:
    return load_campaign(CONFIG, check_calendar=False)


@pytest.fixture
def campaign() -> Campaign:
    return _campaign()


@pytest.fixture(scope="module")
def rows_2000() -> list[dict[str, str]]:
    rows = synth_roster(_campaign(), 2000, 1)
    header = next(rows)
    return [dict(zip(header, row, strict=True)) for row in rows]


def test_2000_cells_split_70_18_8_4_and_sum_to_2000(
    campaign: Campaign, rows_2000: list[dict[str, str]]
) -> None:
    expected = {"family": 1400, "enterprise": 360, "campus": 160, "hospital": 80}
    assert domain_counts(campaign, 2000) == expected
    produced = Counter(r["domain"] for r in rows_2000 if r["type"] == "cell")
    assert produced == expected
    assert sum(produced.values()) == 2000


@given(st.integers(min_value=0, max_value=10_000_000))
def test_domain_counts_always_sum_to_requested_cells(cells: int) -> None:
    assert sum(domain_counts(_campaign(), cells).values()) == cells


def test_unrecognised_domain_makes_every_domain_weigh_the_same(campaign: Campaign) -> None:
    odd = campaign.domains[0].model_copy(update={"key": "market", "cell_categories": ["市场"]})
    mixed = campaign.model_copy(update={"domains": [*campaign.domains, odd]})
    assert set(domain_counts(mixed, 1000).values()) == {200}


def test_2000_cells_give_20_villages(rows_2000: list[dict[str, str]]) -> None:
    assert village_count(2000) == 20
    assert sum(r["type"] == "village" for r in rows_2000) == 20


def test_tiny_rosters_still_have_3_villages() -> None:
    assert village_count(0) == village_count(1) == village_count(149) == 3


def test_villages_mix_cun_and_shequ(rows_2000: list[dict[str, str]]) -> None:
    names = [r["name"] for r in rows_2000 if r["type"] == "village"]
    assert any(n.endswith("社区") for n in names)
    assert any(n.endswith("村") for n in names)


def test_10000_village_names_are_unique(campaign: Campaign) -> None:
    rows = list(islice(synth_roster(campaign, 1_000_000, 3), 1, 10_001))
    assert all(r[2] == "village" for r in rows)
    assert len({r[1] for r in rows}) == 10_000


def test_same_seed_writes_same_bytes(campaign: Campaign, tmp_path: Path) -> None:
    a = write_roster(campaign, 3000, 42, tmp_path / "a.csv")
    b = write_roster(campaign, 3000, 42, tmp_path / "b.csv")
    assert a.path.read_bytes() == b.path.read_bytes()


def test_different_seed_writes_different_bytes(campaign: Campaign, tmp_path: Path) -> None:
    a = write_roster(campaign, 3000, 42, tmp_path / "a.csv")
    b = write_roster(campaign, 3000, 43, tmp_path / "b.csv")
    assert a.path.read_bytes() != b.path.read_bytes()


def test_written_csv_has_header_and_every_row_and_summary_matches(
    campaign: Campaign, tmp_path: Path
) -> None:
    out = tmp_path / "sub" / "roster.csv"
    summary = write_roster(campaign, 2000, 1, out)
    with out.open(encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    assert tuple(rows[0]) == HEADER
    assert len(rows) == 1 + 20 + 2000
    assert (summary.villages, summary.cells, summary.path) == (20, 2000, out)
    assert summary.per_domain == domain_counts(campaign, 2000)
    assert [p.name for p in out.parent.iterdir()] == ["roster.csv"]


def test_every_row_passes_roster_format_rules(
    campaign: Campaign, rows_2000: list[dict[str, str]]
) -> None:
    codes = [r["code"] for r in rows_2000]
    assert len(set(codes)) == len(codes)
    assert all(CODE.match(c) for c in codes)
    assert all(MOBILE.match(r["mobile"]) for r in rows_2000)
    assert all(r["email"] == "" or EMAIL.match(r["email"]) for r in rows_2000)
    assert all(r["name"] and r["contact"] for r in rows_2000)
    for field in ("wecom", "dingtalk", "webhook"):
        assert all(r[field] == "" or SECRET_REF.match(r[field]) for r in rows_2000)

    types = [r["type"] for r in rows_2000]
    assert types == sorted(types, key=lambda t: t != "village")  # villages first
    villages = {r["code"] for r in rows_2000 if r["type"] == "village"}
    for r in rows_2000:
        if r["type"] == "village":
            assert (r["domain"], r["village"], r["category"]) == ("", "", "")
            assert r["wecom"] == f"secret:wecom-{r['code'].lower()}"
        else:
            assert r["type"] == "cell"
            assert r["village"] in villages
            assert r["category"] in campaign.domain(r["domain"]).cell_categories
            assert (r["wecom"], r["dingtalk"], r["webhook"]) == ("", "", "")


def test_every_tenth_village_has_a_dingtalk_reference(rows_2000: list[dict[str, str]]) -> None:
    villages = [r for r in rows_2000 if r["type"] == "village"]
    with_dingtalk = [i + 1 for i, r in enumerate(villages) if r["dingtalk"]]
    assert with_dingtalk == [10, 20]


def test_cells_are_spread_evenly_over_villages(rows_2000: list[dict[str, str]]) -> None:
    per_village = Counter(r["village"] for r in rows_2000 if r["type"] == "cell")
    assert len(per_village) == 20
    assert max(per_village.values()) - min(per_village.values()) <= 4


def test_about_5_percent_of_cells_have_no_email(rows_2000: list[dict[str, str]]) -> None:
    cells = [r for r in rows_2000 if r["type"] == "cell"]
    share = sum(r["email"] == "" for r in cells) / len(cells)
    assert 0.03 < share < 0.07


def test_school_names_match_their_category(rows_2000: list[dict[str, str]]) -> None:
    schools = [r for r in rows_2000 if r["domain"] == "campus"]
    assert {r["category"] for r in schools} == {"中学", "小学", "幼儿园"}
    assert all(r["name"].endswith(r["category"]) for r in schools)


def test_family_cell_is_named_after_its_contact(rows_2000: list[dict[str, str]]) -> None:
    families = [r for r in rows_2000 if r["domain"] == "family"]
    assert all(r["name"] == f"{r['contact']}家庭" for r in families)


def test_synth_roster_is_a_generator(campaign: Campaign) -> None:
    assert inspect.isgenerator(synth_roster(campaign, 10, 1))


def test_first_10_rows_of_10_million_cells_come_instantly(campaign: Campaign) -> None:
    started = time.perf_counter()
    rows = list(islice(synth_roster(campaign, 10_000_000, 1), 10))
    assert len(rows) == 10
    assert time.perf_counter() - started < 0.5


def test_negative_cell_count_is_rejected(campaign: Campaign) -> None:
    with pytest.raises(ValueError, match="negative"):
        next(synth_roster(campaign, -1, 1))

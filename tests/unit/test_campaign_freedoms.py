"""The schema's freedoms (gaps, flagged overlaps, ceremonies, per-domain targets, gates for
some categories) and the organisation section's wording."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest

from pingan.core.awards import issuer_name
from pingan.core.campaign import load_campaign
from tests.unit.test_campaign_validation import campaigns_dir, problems_of, real_data, write

__all__ = ["campaigns_dir"]  # the fixture, imported for these tests


def _load(directory: Path, data: dict[str, Any]) -> Any:
    return load_campaign(write(directory, data))


def test_a_gap_between_phases_is_accepted(campaigns_dir: Path) -> None:
    data = real_data()
    data["phases"][1]["starts_on"] = date(2017, 5, 22)  # a weekend and more after the plan
    assert _load(campaigns_dir, data).phase("implement").starts_on == date(2017, 5, 22)


def test_an_overlap_flagged_in_the_plan_is_accepted(campaigns_dir: Path) -> None:
    data = real_data()
    data["phases"][1]["starts_on"] = date(2017, 5, 10)
    data["phases"][1]["overlap_allowed"] = True
    assert _load(campaigns_dir, data).phase("implement").overlap_allowed


def test_ceremony_before_the_award_date_is_refused(campaigns_dir: Path) -> None:
    data = real_data()
    data["award"]["ceremonies"] = [{"name": "命名挂牌仪式", "held_on": date(2017, 11, 19)}]
    problems = problems_of(write(campaigns_dir, data))
    assert [(p.where, p.message) for p in problems] == [
        ("award.ceremonies[0].held_on", "“命名挂牌仪式”日期 2017-11-19 早于命名日期 2017-11-20")
    ]


def test_award_and_ceremony_without_a_plaque_phase(campaigns_dir: Path) -> None:
    data = real_data()
    data["phases"] = data["phases"][:3]
    data["award"]["ceremonies"] = [{"name": "命名挂牌仪式", "held_on": date(2017, 12, 1)}]
    c = _load(campaigns_dir, data)
    assert [p.key for p in c.phases] == ["plan", "implement", "acceptance"]
    assert c.award.ceremonies[0].held_on == date(2017, 12, 1)


def test_a_domain_target_overrides_only_what_it_names(campaigns_dir: Path) -> None:
    data = real_data()
    data["domains"][2]["targets"] = {"pass_rate": 0.8}
    c = _load(campaigns_dir, data)
    family, campus = c.targets_for("family"), c.targets_for("campus")
    assert (family.pass_rate, family.coverage) == (0.8, 1.0)
    assert campus.pass_rate == 0.9


def test_a_domain_target_out_of_range_names_the_domain(campaigns_dir: Path) -> None:
    data = real_data()
    data["domains"][2]["targets"] = {"coverage": 1.5}
    problems = problems_of(write(campaigns_dir, data))
    assert [(p.where, p.message) for p in problems] == [
        ("domains[2].targets.coverage", "领域 family 的覆盖率目标须在 0 到 1 之间（当前值：1.5）")
    ]


def test_gate_categories_must_be_categories_of_its_domains(campaigns_dir: Path) -> None:
    data = real_data()
    data["gates"][2]["domains"] = ["campus"]
    data["gates"][2]["categories"] = ["中学", "企业"]
    problems = problems_of(write(campaigns_dir, data))
    assert [(p.where, p.message) for p in problems] == [
        ("gates[2].categories[1]", "类别“企业”不在所选领域的 cell_categories 中")
    ]


def test_seed_wording_comes_from_its_organisation() -> None:
    c = load_campaign(Path(__file__).resolve().parents[2] / "config/campaigns/xucheng-2017.yaml")
    w = c.wording
    phrases = (w.whole, w.own_units, w.direct, w.short)
    assert phrases == ("全街道", "街道各单位", "街道直属单位", "徐城")
    assert issuer_name(c, c.coordinator.name) == "徐城街道综治委"


def test_a_district_derives_its_phrases_from_name_and_level(campaigns_dir: Path) -> None:
    data = real_data()
    data["organisation"] = {"name": "滨江区", "level": "区"}
    data["coordinator"]["name"] = "区综治委"
    c = _load(campaigns_dir, data)
    w = c.wording
    assert (w.whole, w.grouping, w.direct, w.coordinator_formal) == (
        "全区",
        "乡镇",
        "区直属单位",
        "滨江区综治委",
    )
    assert w.formal("区教育局") == "滨江区教育局"


@pytest.mark.parametrize(
    ("organisation", "where", "fragment"),
    [
        ({"name": "市卫生健康委", "level": "市"}, "organisation.short", "无法推出简称"),
        ({"name": "滨江区", "level": "区", "short": "江滨"}, "organisation.short", "开头部分"),
        ({"name": "滨江区"}, "organisation.level", "缺少必填字段"),
    ],
)
def test_organisation_problems_name_the_field(
    campaigns_dir: Path, organisation: dict[str, str], where: str, fragment: str
) -> None:
    data = real_data()
    data["organisation"] = organisation
    problems = problems_of(write(campaigns_dir, data))
    assert [p.where for p in problems] == [where]
    assert fragment in problems[0].message


def test_a_domain_pass_target_decides_its_acceptance_verdict() -> None:
    from pingan.adapters.render.acceptance import results_table
    from pingan.core.acceptance import AcceptanceResults, DomainResult

    site = DomainResult("site", "平安工地", cells=10, assessed=10, passed=8, failed=2, target=0.8)
    market = DomainResult("market", "平安市场", cells=10, assessed=10, passed=8, failed=2)
    rows = results_table(AcceptanceResults(date(2025, 9, 30), 0.9, [site, market]))
    assert [(r["目标"], r["结论"]) for r in rows[:2]] == [
        ("80%", "🟢 达到目标"),
        ("90%", "🔴 未达目标（尚差 1 个）"),
    ]


def test_the_ladder_names_the_coordinator_as_the_campaign_does(campaigns_dir: Path) -> None:
    data = real_data()
    data["organisation"] = {"name": "江城市卫生健康委员会", "level": "部门", "short": ""}
    data["coordinator"]["name"] = "委安全生产办公室"
    w = _load(campaigns_dir, data).wording
    assert [w.target_label(t) for t in ("contact", "lead", "coordinator")] == [
        "责任单位",
        "牵头单位",
        "委安全生产办公室",
    ]
    assert (w.whole, w.grouping, w.direct) == ("全系统", "下属单位", "直属单位")

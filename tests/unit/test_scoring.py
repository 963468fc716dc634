"""pingan.core.scoring: one cell's 考核验收 result and each domain's coverage and pass rate."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pingan.core.campaign import Campaign, Criterion, Deduction, Rubric, Veto, load_campaign
from pingan.core.scoring import (
    DomainKpi,
    Result,
    ScoreSheet,
    check_sheet,
    kpis,
    latest_round,
    overall,
    score,
)

REPO = Path(__file__).resolve().parents[2]
CONFIG = REPO / "config" / "campaigns" / "xucheng-2017.yaml"
CAMPAIGN: Campaign = load_campaign(CONFIG)
TARGETS = CAMPAIGN.targets  # coverage 1.0, pass_rate 0.9


def rubric(domain: str) -> Rubric:
    return CAMPAIGN.domain(domain).rubric


def full_marks(r: Rubric) -> dict[str, float]:
    return {c.key: c.points for c in r.criteria}


def marks_with_total(r: Rubric, total: float) -> dict[str, float]:
    """Full marks, then points removed from the first criteria until the sum is `total`."""
    marks = full_marks(r)
    missing = r.total - total
    for c in r.criteria:
        take = min(missing, c.points)
        marks[c.key] = c.points - take
        missing -= take
    return marks


# A small rubric for the check_sheet messages, so each assertion names one item exactly.
SMALL = Rubric(
    total=100,
    pass_mark=80,
    criteria=[
        Criterion(key="a", name="甲项", points=60),
        Criterion(key="b", name="乙项", points=40),
    ],
    deductions=[Deduction(key="case", name="发生案件", points_each=5, max_points=20)],
    vetoes=[Veto(key="fire", name="发生重大火灾")],
)


def ok_sheet(**changes: object) -> ScoreSheet:
    fields: dict[str, object] = {"criteria": {"a": 60, "b": 40}, "deductions": {}, "vetoes": []}
    fields.update(changes)
    return ScoreSheet(
        criteria=fields["criteria"],  # type: ignore[arg-type]
        deductions=fields["deductions"],  # type: ignore[arg-type]
        vetoes=frozenset(fields["vetoes"]),  # type: ignore[call-overload]
    )


# --- pass mark ---------------------------------------------------------------------------


def test_score_exactly_at_pass_mark_passes_campus() -> None:
    r = rubric("campus")
    result = score(r, ScoreSheet(criteria=marks_with_total(r, 80)))
    assert result == Result(total=80, passed=True, vetoed=False, reasons=(), deducted=0)


def test_score_just_below_pass_mark_fails_with_reason_hospital() -> None:
    r = rubric("hospital")
    result = score(r, ScoreSheet(criteria=marks_with_total(r, 79.5)))
    assert result.total == 79.5
    assert not result.passed
    assert result.reasons == ("得分 79.5 分，低于达标分 80 分",)


def test_float_drift_just_under_pass_mark_still_passes_family() -> None:
    r = rubric("family")
    entered = [15.0, 9.9, 3.4, 8.3, 3.3, 6.9, 14.7, 18.5]  # 80 on paper
    marks = {c.key: v for c, v in zip(r.criteria, entered, strict=True)}
    assert sum(marks.values()) < 80  # 79.99999999999999 in floats
    result = score(r, ScoreSheet(criteria=marks))
    assert result.total == 80
    assert result.passed


def test_failure_reason_uses_whole_numbers_for_whole_scores() -> None:
    r = rubric("campus")
    result = score(r, ScoreSheet(criteria=marks_with_total(r, 76)))
    assert result.reasons == ("得分 76 分，低于达标分 80 分",)


# --- vetoes ------------------------------------------------------------------------------


def test_veto_fails_a_perfect_score_and_is_named_in_reasons_campus() -> None:
    r = rubric("campus")
    result = score(r, ScoreSheet(criteria=full_marks(r), vetoes=frozenset({"violence"})))
    assert result.total == 100
    assert result.vetoed
    assert not result.passed
    assert result.reasons == ("一票否决：发生校园暴力伤害重大事故",)


def test_several_vetoes_and_a_low_score_are_all_reasons_in_rubric_order_family() -> None:
    r = rubric("family")
    sheet = ScoreSheet(
        criteria=marks_with_total(r, 70), vetoes=frozenset({"civil-to-criminal", "drugs"})
    )
    assert score(r, sheet).reasons == (
        "一票否决：家庭成员涉毒(“六无”之无毒)",
        "一票否决：发生“民转刑”命案",
        "得分 70 分，低于达标分 80 分",
    )


def test_enterprise_labour_dispute_veto_fails_the_cell() -> None:
    r = rubric("enterprise")
    result = score(r, ScoreSheet(criteria=full_marks(r), vetoes=frozenset({"labour-dispute"})))
    assert (result.passed, result.vetoed) == (False, True)
    assert result.reasons == ("一票否决：发生重大劳资纠纷",)


# --- deductions --------------------------------------------------------------------------


def test_deductions_are_capped_per_item_campus() -> None:
    r = rubric("campus")  # criminal-case: 5 each, at most 20
    result = score(r, ScoreSheet(criteria=full_marks(r), deductions={"criminal-case": 7}))
    assert result.deducted == 20
    assert result.total == 80
    assert result.passed


def test_deductions_below_the_cap_are_count_times_points_hospital() -> None:
    r = rubric("hospital")  # disturbance: 5 each, at most 20
    result = score(r, ScoreSheet(criteria=full_marks(r), deductions={"disturbance": 3}))
    assert (result.deducted, result.total, result.passed) == (15, 85, True)


def test_each_deduction_item_has_its_own_cap() -> None:
    r = SMALL.model_copy(
        update={
            "deductions": [
                Deduction(key="case", name="发生案件", points_each=5, max_points=20),
                Deduction(key="fight", name="发生斗殴", points_each=3, max_points=6),
            ]
        }
    )
    result = score(r, ScoreSheet(criteria={"a": 60, "b": 40}, deductions={"case": 9, "fight": 9}))
    assert result.deducted == 26
    assert result.total == 74


def test_enterprise_deduction_cap_can_fail_the_cell() -> None:
    r = rubric("enterprise")  # unresolved-dispute: 5 each, at most 10
    sheet = ScoreSheet(criteria=marks_with_total(r, 88), deductions={"unresolved-dispute": 4})
    result = score(r, sheet)
    assert (result.deducted, result.total, result.passed) == (10, 78, False)
    assert result.reasons == ("得分 78 分，低于达标分 80 分",)


def test_total_never_below_zero() -> None:
    r = SMALL
    result = score(r, ScoreSheet(criteria={"a": 5, "b": 0}, deductions={"case": 10}))
    assert result.deducted == 20
    assert result.total == 0
    assert result.reasons == ("得分 0 分，低于达标分 80 分",)


def test_integral_float_deduction_count_is_accepted() -> None:
    sheet = ScoreSheet(criteria={"a": 60, "b": 40}, deductions={"case": 2.0})  # type: ignore[dict-item]
    assert score(SMALL, sheet).deducted == 10


# --- check_sheet -------------------------------------------------------------------------


def test_check_sheet_accepts_a_valid_sheet() -> None:
    assert check_sheet(SMALL, ok_sheet(deductions={"case": 0}, vetoes=["fire"])) == []


def test_check_sheet_reports_missing_criterion() -> None:
    assert check_sheet(SMALL, ok_sheet(criteria={"a": 60})) == ["缺少评分项 b（乙项）的得分"]


def test_check_sheet_reports_unknown_criterion() -> None:
    sheet = ok_sheet(criteria={"a": 60, "b": 40, "zz": 1})
    assert check_sheet(SMALL, sheet) == ["评分细则中没有评分项 zz"]


def test_check_sheet_reports_score_above_maximum() -> None:
    sheet = ok_sheet(criteria={"a": 60.5, "b": 40})
    assert check_sheet(SMALL, sheet) == ["评分项 a（甲项）的得分 60.5 超过该项满分 60 分"]


def test_check_sheet_reports_negative_score() -> None:
    sheet = ok_sheet(criteria={"a": 60, "b": -1})
    assert check_sheet(SMALL, sheet) == ["评分项 b（乙项）的得分 -1 不能为负数"]


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), "40", True, None])
def test_check_sheet_reports_non_numeric_score(bad: object) -> None:
    sheet = ok_sheet(criteria={"a": 60, "b": bad})
    assert check_sheet(SMALL, sheet) == [f"评分项 b（乙项）的得分应为数字（当前值：{bad!r}）"]


@pytest.mark.parametrize("bad", [1.5, "2", None, float("nan")])
def test_check_sheet_reports_non_integer_deduction_count(bad: object) -> None:
    sheet = ok_sheet(deductions={"case": bad})
    assert check_sheet(SMALL, sheet) == [
        f"扣分项 case（发生案件）的发生次数应为整数（当前值：{bad!r}）"
    ]


def test_check_sheet_reports_negative_deduction_count() -> None:
    sheet = ok_sheet(deductions={"case": -2})
    assert check_sheet(SMALL, sheet) == ["扣分项 case（发生案件）的发生次数 -2 不能为负数"]


def test_check_sheet_reports_unknown_deduction() -> None:
    sheet = ok_sheet(deductions={"theft": 1})
    assert check_sheet(SMALL, sheet) == ["评分细则中没有扣分项 theft"]


def test_check_sheet_reports_unknown_veto() -> None:
    sheet = ok_sheet(vetoes=["flood"])
    assert check_sheet(SMALL, sheet) == ["评分细则中没有一票否决项 flood"]


def test_check_sheet_reports_every_problem_at_once() -> None:
    sheet = ok_sheet(criteria={"a": 70, "x": 1}, deductions={"case": -1}, vetoes=["flood"])
    assert check_sheet(SMALL, sheet) == [
        "评分项 a（甲项）的得分 70 超过该项满分 60 分",
        "缺少评分项 b（乙项）的得分",
        "评分细则中没有评分项 x",
        "扣分项 case（发生案件）的发生次数 -1 不能为负数",
        "评分细则中没有一票否决项 flood",
    ]


def test_check_sheet_flags_a_deduction_key_entered_as_a_criterion_campus() -> None:
    r = rubric("campus")
    marks = {**full_marks(r), "criminal-case": 1}
    assert check_sheet(r, ScoreSheet(criteria=marks)) == ["评分细则中没有评分项 criminal-case"]


def test_score_refuses_a_sheet_with_problems_listing_them_all() -> None:
    sheet = ok_sheet(criteria={"a": 60}, vetoes=["flood"])
    with pytest.raises(ValueError) as exc:
        score(SMALL, sheet)
    assert str(exc.value) == "缺少评分项 b（乙项）的得分；评分细则中没有一票否决项 flood"


# --- re-assessment -----------------------------------------------------------------------

FAIL = Result(
    total=70, passed=False, vetoed=False, reasons=("得分 70 分，低于达标分 80 分",), deducted=0
)
PASS = Result(total=85, passed=True, vetoed=False, reasons=(), deducted=0)


def test_latest_round_wins_even_when_recorded_out_of_order() -> None:
    assert latest_round([(2, PASS), (1, FAIL)]) == PASS
    assert latest_round([(1, PASS), (2, FAIL)]) == FAIL


def test_latest_round_of_no_history_is_none() -> None:
    assert latest_round([]) is None


def test_latest_round_refuses_two_results_for_one_round() -> None:
    with pytest.raises(ValueError, match="验收轮次重复：第 2 轮"):
        latest_round([(1, FAIL), (2, FAIL), (2, PASS)])


# --- KPIs --------------------------------------------------------------------------------


def test_kpis_shortfall_is_cells_still_to_pass_for_the_target() -> None:
    k = kpis(cells=100, covered=100, assessed=100, passed=85, vetoed=3, targets=TARGETS)
    assert k == DomainKpi(
        cells=100,
        covered=100,
        assessed=100,
        passed=85,
        vetoed=3,
        coverage=1.0,
        pass_rate=0.85,
        coverage_met=True,
        pass_rate_met=False,
        shortfall=5,
        coverage_shortfall=0,
    )


def test_kpis_exactly_at_target_has_no_shortfall_despite_float_product() -> None:
    # 0.9 * 100 == 90.00000000000001; a naive ceil would demand 91.
    k = kpis(cells=100, covered=100, assessed=100, passed=90, vetoed=0, targets=TARGETS)
    assert (k.shortfall, k.pass_rate_met) == (0, True)


def test_kpis_shortfall_rounds_up_to_whole_cells() -> None:
    k = kpis(cells=20, covered=15, assessed=15, passed=10, vetoed=0, targets=TARGETS)
    assert k.shortfall == 4  # 0.9 * 15 = 13.5 → 14
    assert (k.coverage, k.coverage_met, k.coverage_shortfall) == (0.75, False, 5)


def test_kpis_with_nothing_covered_has_no_ratios_and_no_shortfall() -> None:
    k = kpis(cells=12, covered=0, assessed=0, passed=0, vetoed=0, targets=TARGETS)
    assert (k.pass_rate, k.pass_rate_met, k.shortfall) == (None, None, 0)
    assert (k.coverage, k.coverage_met, k.coverage_shortfall) == (0.0, False, 12)


def test_kpis_with_no_cells_has_no_ratios() -> None:
    k = kpis(cells=0, covered=0, assessed=0, passed=0, vetoed=0, targets=TARGETS)
    assert (k.coverage, k.coverage_met, k.coverage_shortfall) == (None, None, 0)
    assert (k.pass_rate, k.pass_rate_met, k.shortfall) == (None, None, 0)


def test_kpis_pass_rate_is_over_covered_not_assessed() -> None:
    k = kpis(cells=10, covered=10, assessed=5, passed=5, vetoed=0, targets=TARGETS)
    assert k.pass_rate == 0.5
    assert k.shortfall == 4


@pytest.mark.parametrize(
    ("counts", "message"),
    [
        ((5, 1, 1, -1, 0), "统计数不能为负数：passed"),
        ((5, 6, 1, 1, 0), "已覆盖 6、已验收 1 不能多于创建单位总数 5"),
        ((5, 5, 3, 2, 2), "达标 2 与否决 2 之和不能多于已验收 3"),
    ],
)
def test_kpis_refuse_impossible_counts(counts: tuple[int, ...], message: str) -> None:
    cells, covered, assessed, passed, vetoed = counts
    with pytest.raises(ValueError, match=message):
        kpis(cells, covered, assessed, passed, vetoed, TARGETS)


def test_overall_recomputes_ratios_from_summed_counts() -> None:
    small = kpis(cells=10, covered=10, assessed=10, passed=10, vetoed=0, targets=TARGETS)
    large = kpis(cells=90, covered=90, assessed=90, passed=72, vetoed=5, targets=TARGETS)
    total = overall([small, large], TARGETS)
    # Average of ratios would be (1.0 + 0.8) / 2 = 0.9 and wrongly meet the target.
    assert total.pass_rate == 0.82
    assert (total.pass_rate_met, total.shortfall) == (False, 8)
    assert (total.cells, total.covered, total.assessed, total.passed, total.vetoed) == (
        100,
        100,
        100,
        82,
        5,
    )


def test_overall_of_no_domains_is_empty() -> None:
    total = overall([], TARGETS)
    assert (total.cells, total.coverage, total.pass_rate, total.shortfall) == (0, None, None, 0)


# --- property ----------------------------------------------------------------------------


@st.composite
def rubric_and_sheet(draw: st.DrawFn) -> tuple[Rubric, ScoreSheet]:
    domain = draw(st.sampled_from(CAMPAIGN.domains))
    r = domain.rubric
    criteria = {
        c.key: draw(
            st.one_of(
                st.floats(min_value=0, max_value=c.points, allow_nan=False),
                st.sampled_from([0.0, c.points]),
                st.integers(min_value=0, max_value=int(c.points)).map(float),
            )
        )
        for c in r.criteria
    }
    deductions = {
        d.key: draw(st.integers(min_value=0, max_value=20))
        for d in r.deductions
        if draw(st.booleans())
    }
    vetoes = draw(st.frozensets(st.sampled_from([v.key for v in r.vetoes])))
    if draw(st.booleans()):
        vetoes = frozenset()  # otherwise most sheets are vetoed and the score branch is thin
    return r, ScoreSheet(criteria=criteria, deductions=deductions, vetoes=vetoes)


@settings(max_examples=300, deadline=None)
@given(rubric_and_sheet())
def test_property_passed_iff_not_vetoed_and_at_pass_mark(case: tuple[Rubric, ScoreSheet]) -> None:
    r, sheet = case
    assert check_sheet(r, sheet) == []
    result = score(r, sheet)
    assert result.passed == (not result.vetoed and result.total >= r.pass_mark)
    assert result.vetoed == bool(sheet.vetoes)
    assert 0 <= result.total <= r.total
    assert result.total == round(result.total, 2)
    assert (result.reasons == ()) == result.passed

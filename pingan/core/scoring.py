"""Scoring core for 考核验收: one cell's score sheet, and a domain's coverage and pass rate.

Pure functions over the campaign schema: no database, no flows, no clock. Callers load the
sheets and the re-assessment history and pass them in, so every rule here is testable alone.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from pingan.core.campaign import Rubric, Targets

# Scores are entered to at most two decimals, but sums of floats drift (79.99999999 for an
# entered 80); anything closer than this to a limit counts as on it.
_EPS = 1e-9


@dataclass(frozen=True)
class ScoreSheet:
    """What an assessor entered for one cell."""

    criteria: Mapping[str, float]
    deductions: Mapping[str, int] = field(default_factory=dict)
    vetoes: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Result:
    total: float
    passed: bool
    vetoed: bool
    reasons: tuple[str, ...]
    deducted: float


@dataclass(frozen=True)
class DomainKpi:
    cells: int
    covered: int
    assessed: int
    passed: int
    vetoed: int
    coverage: float | None
    pass_rate: float | None
    coverage_met: bool | None
    pass_rate_met: bool | None
    shortfall: int
    coverage_shortfall: int


def _fmt(x: float) -> str:
    """76.0 → "76", 79.5 → "79.5": a report should read as the assessor wrote it."""
    return f"{round(x, 2):.2f}".rstrip("0").rstrip(".")


def _is_number(v: object) -> bool:
    # bool is an int subclass; True as a score is a data-entry bug, not 1 point.
    return isinstance(v, int | float) and not isinstance(v, bool)


def check_sheet(rubric: Rubric, sheet: ScoreSheet) -> list[str]:
    """Every problem with a sheet, one line each, so the assessor can fix them all at once."""
    problems: list[str] = []

    for c in rubric.criteria:
        label = f"评分项 {c.key}（{c.name}）"
        if c.key not in sheet.criteria:
            problems.append(f"缺少{label}的得分")
            continue
        v = sheet.criteria[c.key]
        if not _is_number(v) or not math.isfinite(v):
            problems.append(f"{label}的得分应为数字（当前值：{v!r}）")
        elif v < 0:
            problems.append(f"{label}的得分 {_fmt(v)} 不能为负数")
        elif v > c.points + _EPS:
            problems.append(f"{label}的得分 {_fmt(v)} 超过该项满分 {_fmt(c.points)} 分")
    criterion_keys = {c.key for c in rubric.criteria}
    for key in sorted(set(sheet.criteria) - criterion_keys):
        problems.append(f"评分细则中没有评分项 {key}")

    for d in rubric.deductions:
        if d.key not in sheet.deductions:
            continue  # not entered means it did not happen
        label = f"扣分项 {d.key}（{d.name}）"
        n = sheet.deductions[d.key]
        # 2.0 is how a spreadsheet hands back "2"; only a fractional count is wrong.
        if not _is_number(n) or not math.isfinite(n) or n != int(n):
            problems.append(f"{label}的发生次数应为整数（当前值：{n!r}）")
        elif n < 0:
            problems.append(f"{label}的发生次数 {int(n)} 不能为负数")
    deduction_keys = {d.key for d in rubric.deductions}
    for key in sorted(set(sheet.deductions) - deduction_keys):
        problems.append(f"评分细则中没有扣分项 {key}")

    veto_keys = {v.key for v in rubric.vetoes}
    for key in sorted(set(sheet.vetoes) - veto_keys):
        problems.append(f"评分细则中没有一票否决项 {key}")
    return problems


def score(rubric: Rubric, sheet: ScoreSheet) -> Result:
    """Score one cell; a sheet with any problem is refused rather than scored by guesswork."""
    problems = check_sheet(rubric, sheet)
    if problems:
        raise ValueError("；".join(problems))

    gained = sum(sheet.criteria[c.key] for c in rubric.criteria)
    deducted = sum(
        min(int(sheet.deductions.get(d.key, 0)) * d.points_each, d.max_points)
        for d in rubric.deductions
    )
    # Round before comparing so float drift cannot fail a cell that scored the pass mark.
    total = round(max(0.0, gained - deducted), 2)
    vetoed_items = [v for v in rubric.vetoes if v.key in sheet.vetoes]
    vetoed = bool(vetoed_items)
    passed = not vetoed and total >= rubric.pass_mark - _EPS

    reasons: list[str] = []
    if not passed:
        reasons += [f"一票否决：{v.name}" for v in vetoed_items]
        # A vetoed cell may also be under the mark; say so, it is a second thing to fix.
        if total < rubric.pass_mark - _EPS:
            reasons.append(f"得分 {_fmt(total)} 分，低于达标分 {_fmt(rubric.pass_mark)} 分")
    return Result(
        total=total,
        passed=passed,
        vetoed=vetoed,
        reasons=tuple(reasons),
        deducted=round(deducted, 2),
    )


def _needed(target: float, of: int) -> int:
    # 0.9 * 100 is 90.00000000000001 in floats; without rounding, ceil would ask for 91.
    return math.ceil(round(target * of, 6))


def kpis(
    cells: int, covered: int, assessed: int, passed: int, vetoed: int, targets: Targets
) -> DomainKpi:
    """Coverage = covered / cells; pass rate = passed / covered (the project's definitions)."""
    counts = {
        "cells": cells,
        "covered": covered,
        "assessed": assessed,
        "passed": passed,
        "vetoed": vetoed,
    }
    negative = [k for k, v in counts.items() if v < 0]
    if negative:
        raise ValueError(f"统计数不能为负数：{'、'.join(negative)}")
    if covered > cells or assessed > cells:
        raise ValueError(f"已覆盖 {covered}、已验收 {assessed} 不能多于创建单位总数 {cells}")
    if passed + vetoed > assessed:
        # A vetoed cell never passes, so the two are disjoint parts of the assessed cells.
        raise ValueError(f"达标 {passed} 与否决 {vetoed} 之和不能多于已验收 {assessed}")

    coverage_shortfall = max(0, _needed(targets.coverage, cells) - covered) if cells else 0
    shortfall = max(0, _needed(targets.pass_rate, covered) - passed) if covered else 0
    return DomainKpi(
        cells=cells,
        covered=covered,
        assessed=assessed,
        passed=passed,
        vetoed=vetoed,
        coverage=covered / cells if cells else None,
        pass_rate=passed / covered if covered else None,
        # Derived from the shortfalls so "met" and "0 more needed" can never disagree.
        coverage_met=coverage_shortfall == 0 if cells else None,
        pass_rate_met=shortfall == 0 if covered else None,
        shortfall=shortfall,
        coverage_shortfall=coverage_shortfall,
    )


def overall(domains: Iterable[DomainKpi], targets: Targets) -> DomainKpi:
    """Whole-campaign figures from summed counts; averaging ratios would weight a domain of
    five cells the same as one of five hundred."""
    items = list(domains)
    return kpis(
        cells=sum(k.cells for k in items),
        covered=sum(k.covered for k in items),
        assessed=sum(k.assessed for k in items),
        passed=sum(k.passed for k in items),
        vetoed=sum(k.vetoed for k in items),
        targets=targets,
    )


def latest_round(history: Sequence[tuple[int, Result]]) -> Result | None:
    """The result that counts after 复查: the highest round, whatever order it was recorded in."""
    if not history:
        return None
    rounds = [r for r, _ in history]
    duplicates = sorted({r for r in rounds if rounds.count(r) > 1})
    if duplicates:
        # Two results for one round leave no way to tell which the assessors meant.
        raise ValueError(f"验收轮次重复：第 {'、'.join(map(str, duplicates))} 轮")
    return max(history, key=lambda item: item[0])[1]

"""Acceptance results and the coordinator's sign-off, as values (pure: no database, no clock).

The SQL adapter fills these; the renderers, the services and the faces read them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from pingan.core.problems import InputError, Problem


@dataclass(frozen=True)
class FailedCell:
    domain: str
    code: str
    name: str
    village: str | None
    round: int
    total: float
    vetoed: bool
    reasons: tuple[str, ...]


@dataclass
class DomainResult:
    key: str
    title: str
    cells: int = 0
    assessed: int = 0
    passed: int = 0
    failed: int = 0
    vetoed: int = 0
    awarded: int = 0
    target: float | None = None  # the domain's own pass-rate target, if it sets one

    def pass_rate(self) -> float | None:
        return self.passed / self.assessed if self.assessed else None


@dataclass
class AcceptanceResults:
    as_of: date
    pass_target: float
    domains: list[DomainResult]
    failed: list[FailedCell] = field(default_factory=list)
    grouping: str = "村（社区）"  # what the campaign groups cells by (its organisation's word)

    def target_of(self, d: DomainResult) -> float:
        return self.pass_target if d.target is None else d.target

    @property
    def assessed(self) -> int:
        return sum(d.assessed for d in self.domains)

    @property
    def passed(self) -> int:
        return sum(d.passed for d in self.domains)


def shortfall(d: DomainResult, target: float) -> int:
    """More cells that must pass (of those assessed) to reach the target pass rate."""
    return max(0, math.ceil(round(target * d.assessed, 6)) - d.passed)


# --- sign-off ------------------------------------------------------------------------------


@dataclass(frozen=True)
class SignOffRequest:
    """What the coordinator decides: approve or send back, and which passed cells to hold."""

    approver: str
    approved: bool
    comment: str | None
    exclusions: Mapping[str, str]


@dataclass(frozen=True)
class SignOff:
    id: int
    approver: str
    approved: bool
    comment: str | None
    exclusions: Mapping[str, str]
    at: datetime


def signoff_problems(request: SignOffRequest, passed: set[str]) -> list[Problem]:
    """Exclusions name passed cells the coordinator holds back, each with a reason."""
    problems: list[Problem] = []
    if not request.approver.strip():
        problems.append(Problem("签批", "approver", "签批人姓名不能为空"))
    if not request.approved and not (request.comment or "").strip():
        problems.append(Problem("签批", "comment", "退回时须填写意见，说明需要如何处理"))
    for code, reason in request.exclusions.items():
        if code not in passed:
            problems.append(
                Problem("签批", f"exclusions.{code}", f"单位 {code} 不是考核达标的在册创建单位")
            )
        elif not reason.strip():
            problems.append(Problem("签批", f"exclusions.{code}", f"暂缓命名 {code} 须说明理由"))
    return problems


def parse_exclusions(items: Sequence[str]) -> dict[str, str]:
    """CLI form ``CODE:理由`` (a full-width colon is accepted too)."""
    out: dict[str, str] = {}
    problems: list[Problem] = []
    for item in items:
        code, sep, reason = item.replace("：", ":").partition(":")
        if not sep or not code.strip() or not reason.strip():
            problems.append(
                Problem("--exclude", item, "格式应为 单位编码:理由，例如 S0001:存在未整改隐患")
            )
        else:
            out[code.strip()] = reason.strip()
    if problems:
        raise InputError(problems)
    return out

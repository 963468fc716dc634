"""Acceptance results, the coordinator's sign-off, awards and revocations, in set-based SQL.

The rule that matters: a cell is awarded only when its latest assessment passed, that
assessment existed when the coordinator approved (a cell re-assessed afterwards waits for the
next sign-off), and the sign-off did not exclude it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, aliased

from pingan.adapters.db.assessments import AssessmentRow, AssessmentScoreRow, AwardRow, SignOffRow
from pingan.adapters.db.audit import AuditEventRow
from pingan.adapters.db.base import table, utcnow
from pingan.adapters.db.bulk import bulk_insert
from pingan.adapters.db.campaigns import DomainRow
from pingan.adapters.db.status import latest_rounds
from pingan.adapters.db.units import UnitRow
from pingan.core.awards import Candidate, assign_numbers, award_number, verification_code
from pingan.core.campaign import Campaign
from pingan.core.problems import InputError, Problem
from pingan.core.scoring import ScoreSheet, score


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

    def pass_rate(self) -> float | None:
        return self.passed / self.assessed if self.assessed else None


@dataclass
class AcceptanceResults:
    as_of: date
    pass_target: float
    domains: list[DomainResult]
    failed: list[FailedCell] = field(default_factory=list)

    @property
    def assessed(self) -> int:
        return sum(d.assessed for d in self.domains)

    @property
    def passed(self) -> int:
        return sum(d.passed for d in self.domains)


@dataclass(frozen=True)
class SignOff:
    id: int
    approver: str
    approved: bool
    comment: str | None
    exclusions: Mapping[str, str]
    at: datetime


def _active_cells(campaign_id: int) -> tuple[Any, ...]:
    return (UnitRow.campaign_id == campaign_id, UnitRow.kind == "cell", UnitRow.status == "active")


def _latest_assessments(campaign_id: int, as_of: date | None = None) -> Any:
    latest = latest_rounds(campaign_id, as_of)
    village = aliased(UnitRow)
    return (
        select(
            AssessmentRow.id,
            AssessmentRow.round,
            AssessmentRow.total,
            AssessmentRow.passed,
            AssessmentRow.vetoed,
            AssessmentRow.created_at,
            UnitRow.id.label("unit_id"),
            UnitRow.code,
            UnitRow.name,
            DomainRow.key.label("domain"),
            village.name.label("village"),
        )
        .join(
            latest,
            (latest.c.unit_id == AssessmentRow.unit_id) & (latest.c.round == AssessmentRow.round),
        )
        .join(UnitRow, UnitRow.id == AssessmentRow.unit_id)
        .join(DomainRow, DomainRow.id == UnitRow.domain_id)
        .outerjoin(village, village.id == UnitRow.village_id)
        .where(*_active_cells(campaign_id))
    )


def acceptance_results(
    session: Session, campaign: Campaign, campaign_id: int, as_of: date
) -> AcceptanceResults:
    res = {d.key: DomainResult(d.key, d.title or d.name) for d in campaign.domains}
    for key, n in session.execute(
        select(DomainRow.key, func.count())
        .join(UnitRow, UnitRow.domain_id == DomainRow.id)
        .where(*_active_cells(campaign_id))
        .group_by(DomainRow.key)
    ):
        if key in res:
            res[key].cells = int(n)
    latest = _latest_assessments(campaign_id, as_of).subquery()
    for key, passed, vetoed, n in session.execute(
        select(latest.c.domain, latest.c.passed, latest.c.vetoed, func.count()).group_by(
            latest.c.domain, latest.c.passed, latest.c.vetoed
        )
    ):
        d = res.get(key)
        if d is None:
            continue
        d.assessed += int(n)
        if passed:
            d.passed += int(n)
        else:
            d.failed += int(n)
        if vetoed:
            d.vetoed += int(n)
    for key, n in session.execute(
        select(DomainRow.key, func.count())
        .join(AwardRow, AwardRow.domain_id == DomainRow.id)
        .where(AwardRow.campaign_id == campaign_id, AwardRow.revoked_at.is_(None))
        .group_by(DomainRow.key)
    ):
        if key in res:
            res[key].awarded = int(n)
    failed_rows = session.execute(
        _latest_assessments(campaign_id, as_of)
        .where(AssessmentRow.passed.is_(False))
        .order_by(DomainRow.key, UnitRow.code)
    ).all()
    return AcceptanceResults(
        as_of=as_of,
        pass_target=campaign.targets.pass_rate,
        domains=list(res.values()),
        failed=_failure_reasons(session, campaign, failed_rows),
    )


def _failure_reasons(session: Session, campaign: Campaign, rows: Sequence[Any]) -> list[FailedCell]:
    """Re-score the failed sheets: the reasons (veto item, points short) are the rubric's."""
    items: dict[int, dict[str, float]] = defaultdict(dict)
    ids = [r.id for r in rows]
    for i in range(0, len(ids), 5000):
        for aid, key, value in session.execute(
            select(
                AssessmentScoreRow.assessment_id,
                AssessmentScoreRow.item_key,
                AssessmentScoreRow.value,
            ).where(AssessmentScoreRow.assessment_id.in_(ids[i : i + 5000]))
        ):
            items[aid][key] = value
    rubric_of = {d.key: d.rubric for d in campaign.domains}
    out: list[FailedCell] = []
    for r in rows:
        got = items.get(r.id, {})
        sheet = ScoreSheet(
            criteria={k[2:]: v for k, v in got.items() if k.startswith("c:")},
            deductions={k[2:]: int(v) for k, v in got.items() if k.startswith("d:")},
            vetoes=frozenset(k[2:] for k in got if k.startswith("v:")),
        )
        try:
            reasons = score(rubric_of[r.domain], sheet).reasons
        except (KeyError, ValueError):
            # The rubric changed since scoring: the stored verdict stands, say so plainly.
            reasons = ("评分记录与现行评分标准不一致，以当时结论为准",)
        out.append(
            FailedCell(
                r.domain, r.code, r.name, r.village, r.round, r.total, r.vetoed, tuple(reasons)
            )
        )
    return out


# --- sign-off ------------------------------------------------------------------------------


def latest_signoff(session: Session, campaign_id: int) -> SignOff | None:
    row = session.scalars(
        select(SignOffRow)
        .where(SignOffRow.campaign_id == campaign_id)
        .order_by(SignOffRow.at.desc(), SignOffRow.id.desc())
        .limit(1)
    ).first()
    if row is None:
        return None
    cells = (row.exclusions or {}).get("cells", {})
    return SignOff(row.id, row.approver, row.approved, row.comment, dict(cells), row.at)


def record_signoff(
    session: Session,
    campaign_id: int,
    *,
    approver: str,
    approved: bool,
    comment: str | None,
    exclusions: Mapping[str, str],
    actor: str,
    source: str,
    now: datetime | None = None,
) -> SignOff:
    """Exclusions name passed cells the coordinator holds back, each with a reason."""
    problems: list[Problem] = []
    if not approver.strip():
        problems.append(Problem("签批", "approver", "签批人姓名不能为空"))
    if not approved and not (comment or "").strip():
        problems.append(Problem("签批", "comment", "退回时须填写意见，说明需要如何处理"))
    passed = {
        r.code
        for r in session.execute(
            _latest_assessments(campaign_id).where(AssessmentRow.passed.is_(True))
        )
    }
    for code, reason in exclusions.items():
        if code not in passed:
            problems.append(
                Problem("签批", f"exclusions.{code}", f"单位 {code} 不是考核达标的在册创建单位")
            )
        elif not reason.strip():
            problems.append(Problem("签批", f"exclusions.{code}", f"暂缓命名 {code} 须说明理由"))
    if problems:
        raise InputError(problems)
    at = now or utcnow()
    row = SignOffRow(
        campaign_id=campaign_id,
        approver=approver.strip(),
        approved=approved,
        comment=(comment or "").strip() or None,
        exclusions={"cells": dict(exclusions), "passed": len(passed)},
        at=at,
    )
    session.add(row)
    session.flush()
    session.add(
        AuditEventRow(
            campaign_id=campaign_id,
            actor=actor,
            action="acceptance.signoff",
            entity="sign_off",
            entity_id=str(row.id),
            before=None,
            after={
                "approver": row.approver,
                "approved": approved,
                "comment": row.comment,
                "exclusions": dict(exclusions),
                "passed": len(passed),
                "source": source,
            },
            at=at,
        )
    )
    return SignOff(row.id, row.approver, approved, row.comment, dict(exclusions), at)


# --- awards --------------------------------------------------------------------------------


@dataclass(frozen=True)
class GrantOutcome:
    signoff: SignOff
    new_award_ids: list[int]
    waiting: int  # passed after the sign-off: the next sign-off decides them
    excluded: int


def grant_awards(
    session: Session,
    campaign: Campaign,
    campaign_id: int,
    *,
    key: bytes,
    issued_on: date,
    actor: str,
) -> GrantOutcome:
    signoff = latest_signoff(session, campaign_id)
    if signoff is None:
        raise InputError([Problem("命名", "sign_off", "考核验收结果尚未经综治委签批，不能命名")])
    if not signoff.approved:
        raise InputError(
            [
                Problem(
                    "命名",
                    "sign_off",
                    f"最近一次签批（{signoff.approver}）为退回：{signoff.comment or '未说明'}；"
                    "请复查后重新签批",
                )
            ]
        )
    awarded_units = select(AwardRow.unit_id).where(AwardRow.campaign_id == campaign_id)
    rows = session.execute(
        _latest_assessments(campaign_id).where(
            AssessmentRow.passed.is_(True), UnitRow.id.not_in(awarded_units)
        )
    ).all()
    candidates: list[Candidate] = []
    waiting = excluded = 0
    for r in rows:
        if r.created_at > signoff.at:
            waiting += 1
        elif r.code in signoff.exclusions:
            excluded += 1
        else:
            candidates.append(Candidate(r.unit_id, r.domain, r.village or "", r.code))
    domain_ids = dict(
        session.execute(
            select(DomainRow.key, DomainRow.id).where(DomainRow.campaign_id == campaign_id)
        ).all()
    )
    key_of = {v: k for k, v in domain_ids.items()}
    highest = {
        key_of[d]: int(s)
        for d, s in session.execute(
            select(AwardRow.domain_id, func.max(AwardRow.seq))
            .where(AwardRow.campaign_id == campaign_id)
            .group_by(AwardRow.domain_id)
        )
    }
    new = assign_numbers(candidates, highest)
    by_unit = {r.unit_id: r for r in rows}
    now = utcnow()
    values: list[dict[str, Any]] = []
    for a in new:
        d = campaign.domain(a.domain)
        title = d.title or d.name
        number = award_number(
            campaign.award.number_format,
            prefix=campaign.award.prefix,
            title=title,
            year=issued_on.year,
            seq=a.seq,
            domain=a.domain,
        )
        cell = by_unit[a.unit_id]
        values.append(
            {
                "campaign_id": campaign_id,
                "domain_id": domain_ids[a.domain],
                "unit_id": a.unit_id,
                "seq": a.seq,
                "number": number,
                "issued_on": issued_on,
                "verification_code": verification_code(
                    key,
                    campaign=campaign.code,
                    number=number,
                    cell_code=cell.code,
                    cell_name=cell.name,
                    issued_on=issued_on,
                ),
                "revoked_at": None,
                "revoked_reason": None,
            }
        )
    bulk_insert(session, table(AwardRow), values)
    new_ids: list[int] = []
    unit_ids = [a.unit_id for a in new]
    for i in range(0, len(unit_ids), 5000):
        new_ids += session.scalars(
            select(AwardRow.id).where(
                AwardRow.campaign_id == campaign_id,
                AwardRow.unit_id.in_(unit_ids[i : i + 5000]),
                AwardRow.revoked_at.is_(None),
            )
        ).all()
    if new:
        session.add(
            AuditEventRow(
                campaign_id=campaign_id,
                actor=actor,
                action="award.grant",
                entity="award",
                entity_id=None,
                before=None,
                after={
                    "awarded": len(new),
                    "sign_off": signoff.id,
                    "issued_on": issued_on.isoformat(),
                    "by_domain": _count_by(a.domain for a in new),
                },
                at=now,
            )
        )
    return GrantOutcome(signoff, sorted(new_ids), waiting, excluded)


def _count_by(keys: Any) -> dict[str, int]:
    out: dict[str, int] = defaultdict(int)
    for k in keys:
        out[k] += 1
    return dict(out)


def revoke_award(
    session: Session, campaign_id: int, *, target: str, reason: str, actor: str
) -> AwardRow:
    """``target`` is an award number or a cell code."""
    if not reason.strip():
        raise InputError([Problem("撤销命名", "reason", "撤销命名须说明理由")])
    row = session.scalars(
        select(AwardRow)
        .join(UnitRow, UnitRow.id == AwardRow.unit_id)
        .where(
            AwardRow.campaign_id == campaign_id,
            (AwardRow.number == target) | (UnitRow.code == target),
        )
        .order_by(AwardRow.id.desc())
        .limit(1)
    ).first()
    if row is None:
        raise InputError([Problem("撤销命名", "target", f"未找到编号或单位编码为 {target} 的命名")])
    if row.revoked_at is not None:
        raise InputError(
            [Problem("撤销命名", "target", f"{row.number} 已于 {row.revoked_at:%Y-%m-%d} 撤销")]
        )
    now = utcnow()
    session.execute(
        update(AwardRow)
        .where(AwardRow.id == row.id)
        .values(revoked_at=now, revoked_reason=reason.strip())
    )
    session.add(
        AuditEventRow(
            campaign_id=campaign_id,
            actor=actor,
            action="award.revoke",
            entity="award",
            entity_id=str(row.id),
            before={"number": row.number, "revoked": False},
            after={"number": row.number, "revoked": True, "reason": reason.strip()},
            at=now,
        )
    )
    session.refresh(row)
    return row


@dataclass(frozen=True)
class AwardListing:
    id: int
    domain: str
    title: str
    seq: int
    number: str
    cell_code: str
    cell_name: str
    village: str | None
    lead_unit: str
    issued_on: date
    verification_code: str
    revoked_at: datetime | None
    revoked_reason: str | None


def award_listing(
    session: Session, campaign: Campaign, campaign_id: int, ids: Sequence[int] | None = None
) -> list[AwardListing]:
    village = aliased(UnitRow)
    q = (
        select(
            AwardRow.id,
            DomainRow.key,
            AwardRow.seq,
            AwardRow.number,
            UnitRow.code,
            UnitRow.name,
            village.name.label("village"),
            AwardRow.issued_on,
            AwardRow.verification_code,
            AwardRow.revoked_at,
            AwardRow.revoked_reason,
        )
        .join(DomainRow, DomainRow.id == AwardRow.domain_id)
        .join(UnitRow, UnitRow.id == AwardRow.unit_id)
        .outerjoin(village, village.id == UnitRow.village_id)
        .where(AwardRow.campaign_id == campaign_id)
        .order_by(DomainRow.key, AwardRow.seq)
    )
    wanted = set(ids) if ids is not None else None
    if wanted is not None and len(wanted) <= 1000:
        q = q.where(AwardRow.id.in_(sorted(wanted)))
    unit_names = {u.code: u.name for u in campaign.units}
    out: list[AwardListing] = []
    for r in session.execute(q):
        # Filtered here, not by IN (…): a run can award 90,000 cells, past PostgreSQL's
        # parameter limit, and reading the campaign's awards once is one indexed scan.
        if wanted is not None and r.id not in wanted:
            continue
        d = campaign.domain(r.key)
        out.append(
            AwardListing(
                r.id,
                r.key,
                d.title or d.name,
                r.seq,
                r.number,
                r.code,
                r.name,
                r.village,
                unit_names.get(d.lead, d.lead),
                r.issued_on,
                r.verification_code,
                r.revoked_at,
                r.revoked_reason,
            )
        )
    return out


def find_award(session: Session, campaign_id: int, number: str) -> AwardRow | None:
    return session.scalars(
        select(AwardRow).where(AwardRow.campaign_id == campaign_id, AwardRow.number == number)
    ).first()

"""Per-domain acceptance counts and the failed cells with their reasons."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pingan.adapters.db.assessments import AssessmentRow, AssessmentScoreRow, AwardRow
from pingan.adapters.db.awarding.latest import active_cells, latest_assessments
from pingan.adapters.db.campaigns import DomainRow
from pingan.adapters.db.units import UnitRow
from pingan.core.acceptance import AcceptanceResults, DomainResult, FailedCell
from pingan.core.campaign import Campaign
from pingan.core.scoring import ScoreSheet, score


def acceptance_results(
    session: Session, campaign: Campaign, campaign_id: int, as_of: date
) -> AcceptanceResults:
    res = {
        d.key: DomainResult(
            d.key, d.title or d.name, target=d.targets.pass_rate if d.targets else None
        )
        for d in campaign.domains
    }
    _count_cells(session, campaign_id, res)
    _count_assessed(session, campaign_id, as_of, res)
    _count_awarded(session, campaign_id, res)
    failed_rows = session.execute(
        latest_assessments(campaign_id, as_of)
        .where(AssessmentRow.passed.is_(False))
        .order_by(DomainRow.key, UnitRow.code)
    ).all()
    return AcceptanceResults(
        as_of=as_of,
        pass_target=campaign.targets.pass_rate,
        grouping=campaign.wording.grouping,
        domains=list(res.values()),
        failed=_failure_reasons(session, campaign, failed_rows),
    )


def _count_cells(session: Session, campaign_id: int, res: dict[str, DomainResult]) -> None:
    for key, n in session.execute(
        select(DomainRow.key, func.count())
        .join(UnitRow, UnitRow.domain_id == DomainRow.id)
        .where(*active_cells(campaign_id))
        .group_by(DomainRow.key)
    ):
        if key in res:
            res[key].cells = int(n)


def _count_assessed(
    session: Session, campaign_id: int, as_of: date, res: dict[str, DomainResult]
) -> None:
    latest = latest_assessments(campaign_id, as_of).subquery()
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


def _count_awarded(session: Session, campaign_id: int, res: dict[str, DomainResult]) -> None:
    for key, n in session.execute(
        select(DomainRow.key, func.count())
        .join(AwardRow, AwardRow.domain_id == DomainRow.id)
        .where(AwardRow.campaign_id == campaign_id, AwardRow.revoked_at.is_(None))
        .group_by(DomainRow.key)
    ):
        if key in res:
            res[key].awarded = int(n)


def _failure_reasons(session: Session, campaign: Campaign, rows: Sequence[Any]) -> list[FailedCell]:
    """Re-score the failed sheets: the reasons (veto item, points short) are the rubric's."""
    items = _stored_items(session, [r.id for r in rows])
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


def _stored_items(session: Session, ids: Sequence[int]) -> dict[int, dict[str, float]]:
    """Each assessment's stored item values, keyed ``c:``/``d:``/``v:`` + item key."""
    items: dict[int, dict[str, float]] = defaultdict(dict)
    for i in range(0, len(ids), 5000):
        for aid, key, value in session.execute(
            select(
                AssessmentScoreRow.assessment_id,
                AssessmentScoreRow.item_key,
                AssessmentScoreRow.value,
            ).where(AssessmentScoreRow.assessment_id.in_(ids[i : i + 5000]))
        ):
            items[aid][key] = value
    return items

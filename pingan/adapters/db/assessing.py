"""Store imported assessment scores: one assessment per cell and round, with item scores.

A failed cell may be assessed again before the award (复查): the new scores become the next
round and the earlier rounds stay as history. A cell that already passed is not assessed
again by import — that would hide the record the award rests on.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from pingan.adapters.db.assessments import AssessmentRow, AssessmentScoreRow, AwardRow
from pingan.adapters.db.audit import AuditEventRow
from pingan.adapters.db.base import table, utcnow
from pingan.adapters.db.bulk import bulk_insert
from pingan.adapters.db.campaigns import DomainRow, GateRow
from pingan.adapters.db.obligations import ObligationRow
from pingan.adapters.db.units import UnitRow
from pingan.adapters.intake.scores import CellRef, ScoreRow
from pingan.core.campaign import Campaign
from pingan.core.problems import InputError, Problem
from pingan.core.scoring import score


def active_cells(engine: Engine, campaign_id: int) -> dict[str, CellRef]:
    village = select(UnitRow.id, UnitRow.name).subquery()
    with engine.connect() as conn:
        rows = conn.execute(
            select(UnitRow.code, UnitRow.name, DomainRow.key, village.c.name)
            .join(DomainRow, DomainRow.id == UnitRow.domain_id)
            .outerjoin(village, village.c.id == UnitRow.village_id)
            .where(
                UnitRow.campaign_id == campaign_id,
                UnitRow.kind == "cell",
                UnitRow.status == "active",
            )
        ).all()
    return {code: CellRef(code, name, domain, vname) for code, name, domain, vname in rows}


def store_scores(
    session: Session,
    campaign: Campaign,
    campaign_id: int,
    rows: Sequence[ScoreRow],
    *,
    source: str,
    actor: str,
    file_name: str,
) -> dict[str, int]:
    """Write every row or none; returns counts (assessed, passed, reassessed)."""
    codes = [r.cell for r in rows]
    ids: dict[str, int] = {}
    for i in range(0, len(codes), 5000):  # PostgreSQL takes at most 65,535 parameters
        ids.update(
            session.execute(
                select(UnitRow.code, UnitRow.id).where(
                    UnitRow.campaign_id == campaign_id, UnitRow.code.in_(codes[i : i + 5000])
                )
            ).all()
        )
    latest: dict[int, tuple[int, bool]] = {}
    for unit_id, rnd, passed in session.execute(
        select(AssessmentRow.unit_id, AssessmentRow.round, AssessmentRow.passed)
        .where(AssessmentRow.campaign_id == campaign_id)
        .order_by(AssessmentRow.round)
    ):
        latest[unit_id] = (rnd, passed)  # ordered by round: the last one wins
    awarded = set(
        session.scalars(
            select(AwardRow.unit_id).where(
                AwardRow.campaign_id == campaign_id, AwardRow.revoked_at.is_(None)
            )
        )
    )
    problems: list[Problem] = []
    planned: list[tuple[ScoreRow, int, int]] = []
    for r in rows:
        uid = ids[r.cell]
        prev = latest.get(uid)
        if uid in awarded:
            problems.append(
                Problem(file_name, r.where, f"单位 {r.cell} 已命名挂牌，不能再导入评分")
            )
        elif prev is not None and prev[1]:
            problems.append(
                Problem(
                    file_name, r.where, f"单位 {r.cell} 已考核达标（第 {prev[0]} 轮），无需复查"
                )
            )
        else:
            planned.append((r, uid, prev[0] + 1 if prev else 1))
    if problems:
        raise InputError(problems)
    now = utcnow()
    rubric_of = {d.key: d.rubric for d in campaign.domains}
    results = [(r, uid, rnd, score(rubric_of[r.domain], r.sheet)) for r, uid, rnd in planned]
    bulk_insert(
        session,
        table(AssessmentRow),
        [
            {
                "campaign_id": campaign_id,
                "unit_id": uid,
                "round": rnd,
                "assessed_on": r.assessed_on,
                "total": res.total,
                "vetoed": res.vetoed,
                "passed": res.passed,
                "assessor": r.assessor,
                "source": source,
                "created_at": now,
            }
            for r, uid, rnd, res in results
        ],
    )
    new_ids: dict[tuple[int, int], int] = {}
    unit_ids = [uid for _, uid, _ in planned]
    for i in range(0, len(unit_ids), 5000):
        for aid, uid, rnd in session.execute(
            select(AssessmentRow.id, AssessmentRow.unit_id, AssessmentRow.round).where(
                AssessmentRow.unit_id.in_(unit_ids[i : i + 5000])
            )
        ):
            new_ids[(uid, rnd)] = aid
    scores: list[dict[str, Any]] = []
    for r, uid, rnd, _ in results:
        aid = new_ids[(uid, rnd)]
        scores += [
            {"assessment_id": aid, "item_key": f"c:{k}", "value": float(v)}
            for k, v in r.sheet.criteria.items()
        ]
        scores += [
            {"assessment_id": aid, "item_key": f"d:{k}", "value": float(v)}
            for k, v in r.sheet.deductions.items()
        ]
        scores += [
            {"assessment_id": aid, "item_key": f"v:{k}", "value": 1.0} for k in r.sheet.vetoes
        ]
    bulk_insert(session, table(AssessmentScoreRow), scores)
    _complete_assessment_gates(
        session, campaign_id, [(uid, r.assessed_on) for r, uid, _, _ in results]
    )
    counts = {
        "assessed": len(results),
        "passed": sum(res.passed for *_, res in results),
        "reassessed": sum(rnd > 1 for _, _, rnd, _ in results),
    }
    session.add(
        AuditEventRow(
            campaign_id=campaign_id,
            actor=actor,
            action="assessment.import",
            entity="assessment",
            entity_id=None,
            before=None,
            after={"file": file_name, "source": source, **counts},
        )
    )
    return counts


def _complete_assessment_gates(
    session: Session, campaign_id: int, done: Sequence[tuple[int, date]]
) -> None:
    """The assessment obligation of a cell is done on its (first) assessment date."""
    gates = select(GateRow.id).where(
        GateRow.campaign_id == campaign_id, GateRow.evidence == "assessment"
    )
    by_day: dict[date, list[int]] = {}
    for uid, day in done:
        by_day.setdefault(day, []).append(uid)
    for day, units in by_day.items():
        for i in range(0, len(units), 5000):
            session.execute(
                update(ObligationRow)
                .where(
                    ObligationRow.gate_id.in_(gates),
                    ObligationRow.unit_id.in_(units[i : i + 5000]),
                    ObligationRow.done_on.is_(None),
                )
                .values(done_on=day, status_as_of=None)
            )

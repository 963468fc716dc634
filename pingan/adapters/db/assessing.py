"""Store imported assessment scores: one assessment per cell and round, with item scores.

A failed cell may be assessed again before the award (复查): the new scores become the next
round and the earlier rounds stay as history. A cell that already passed is not assessed
again by import — that would hide the record the award rests on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
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
from pingan.core.campaign import Campaign
from pingan.core.problems import InputError, Problem
from pingan.core.scores import CellRef, ScoreRow
from pingan.core.scoring import Result, score


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


# PostgreSQL takes at most 65,535 parameters in one statement.
_CHUNK = 5000


@dataclass(frozen=True)
class _Scored:
    """One imported row, the unit it scores, its round and the score it earns."""

    row: ScoreRow
    unit_id: int
    round: int
    result: Result


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
    ids = _unit_ids(session, campaign_id, [r.cell for r in rows])
    planned = _plan_rounds(session, campaign_id, rows, ids, file_name)
    rubric_of = {d.key: d.rubric for d in campaign.domains}
    results = [_Scored(r, uid, rnd, score(rubric_of[r.domain], r.sheet)) for r, uid, rnd in planned]
    _insert_assessments(session, campaign_id, results, source)
    new_ids = _assessment_ids(session, [s.unit_id for s in results])
    bulk_insert(session, table(AssessmentScoreRow), _item_scores(results, new_ids))
    _complete_assessment_gates(
        session, campaign_id, [(s.unit_id, s.row.assessed_on) for s in results]
    )
    counts = {
        "assessed": len(results),
        "passed": sum(s.result.passed for s in results),
        "reassessed": sum(s.round > 1 for s in results),
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


def _unit_ids(session: Session, campaign_id: int, codes: Sequence[str]) -> dict[str, int]:
    ids: dict[str, int] = {}
    for i in range(0, len(codes), _CHUNK):
        ids.update(
            session.execute(
                select(UnitRow.code, UnitRow.id).where(
                    UnitRow.campaign_id == campaign_id, UnitRow.code.in_(codes[i : i + _CHUNK])
                )
            ).all()
        )
    return ids


def _plan_rounds(
    session: Session,
    campaign_id: int,
    rows: Sequence[ScoreRow],
    ids: dict[str, int],
    file_name: str,
) -> list[tuple[ScoreRow, int, int]]:
    """(row, unit id, round) for each row; InputError if any cell passed or was awarded."""
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
    return planned


def _insert_assessments(
    session: Session, campaign_id: int, results: Sequence[_Scored], source: str
) -> None:
    now = utcnow()
    bulk_insert(
        session,
        table(AssessmentRow),
        [
            {
                "campaign_id": campaign_id,
                "unit_id": s.unit_id,
                "round": s.round,
                "assessed_on": s.row.assessed_on,
                "total": s.result.total,
                "vetoed": s.result.vetoed,
                "passed": s.result.passed,
                "assessor": s.row.assessor,
                "source": source,
                "created_at": now,
            }
            for s in results
        ],
    )


def _assessment_ids(session: Session, unit_ids: Sequence[int]) -> dict[tuple[int, int], int]:
    """(unit id, round) → assessment id, for every round of these units."""
    new_ids: dict[tuple[int, int], int] = {}
    for i in range(0, len(unit_ids), _CHUNK):
        for aid, uid, rnd in session.execute(
            select(AssessmentRow.id, AssessmentRow.unit_id, AssessmentRow.round).where(
                AssessmentRow.unit_id.in_(unit_ids[i : i + _CHUNK])
            )
        ):
            new_ids[(uid, rnd)] = aid
    return new_ids


def _item_scores(
    results: Sequence[_Scored], new_ids: dict[tuple[int, int], int]
) -> list[dict[str, Any]]:
    scores: list[dict[str, Any]] = []
    for s in results:
        aid = new_ids[(s.unit_id, s.round)]
        sheet = s.row.sheet
        scores += [
            {"assessment_id": aid, "item_key": f"c:{k}", "value": float(v)}
            for k, v in sheet.criteria.items()
        ]
        scores += [
            {"assessment_id": aid, "item_key": f"d:{k}", "value": float(v)}
            for k, v in sheet.deductions.items()
        ]
        scores += [{"assessment_id": aid, "item_key": f"v:{k}", "value": 1.0} for k in sheet.vetoes]
    return scores


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
        for i in range(0, len(units), _CHUNK):
            session.execute(
                update(ObligationRow)
                .where(
                    ObligationRow.gate_id.in_(gates),
                    ObligationRow.unit_id.in_(units[i : i + _CHUNK]),
                    ObligationRow.done_on.is_(None),
                )
                .values(done_on=day, status_as_of=None)
            )

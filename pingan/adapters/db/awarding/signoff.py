"""The coordinator's sign-off: the latest one, and recording a new one with its audit event."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from pingan.adapters.db.assessments import AssessmentRow, SignOffRow
from pingan.adapters.db.audit import AuditEventRow
from pingan.adapters.db.awarding.latest import latest_assessments
from pingan.adapters.db.base import utcnow
from pingan.core.acceptance import SignOff, SignOffRequest, signoff_problems
from pingan.core.problems import InputError


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


def passed_cells(session: Session, campaign_id: int) -> set[str]:
    """Codes of the cells whose latest assessment passed: the ones a sign-off may hold back."""
    return {
        r.code
        for r in session.execute(
            latest_assessments(campaign_id).where(AssessmentRow.passed.is_(True))
        )
    }


def record_signoff(
    session: Session,
    campaign_id: int,
    request: SignOffRequest,
    *,
    actor: str,
    source: str,
    now: datetime | None = None,
) -> SignOff:
    """Exclusions must name cells whose latest assessment passed (see signoff_problems)."""
    passed = passed_cells(session, campaign_id)
    problems = signoff_problems(request, passed)
    if problems:
        raise InputError(problems)
    at = now or utcnow()
    exclusions = dict(request.exclusions)
    row = SignOffRow(
        campaign_id=campaign_id,
        approver=request.approver.strip(),
        approved=request.approved,
        comment=(request.comment or "").strip() or None,
        exclusions={"cells": exclusions, "passed": len(passed)},
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
                "approved": request.approved,
                "comment": row.comment,
                "exclusions": dict(exclusions),
                "passed": len(passed),
                "source": source,
            },
            at=at,
        )
    )
    return SignOff(row.id, row.approver, request.approved, row.comment, dict(exclusions), at)

"""Revoking an award: the number stays taken, the certificate stops verifying."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from pingan.adapters.db.assessments import AwardRow
from pingan.adapters.db.audit import AuditEventRow
from pingan.adapters.db.base import utcnow
from pingan.adapters.db.units import UnitRow
from pingan.core.problems import InputError, Problem


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

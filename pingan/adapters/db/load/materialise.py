"""Obligations: one per gate and responsible active unit, made with INSERT … SELECT."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, exists, func, insert, literal, or_, select, update
from sqlalchemy.orm import Session

from pingan.adapters.db.base import table
from pingan.adapters.db.campaigns import DomainRow, GateRow
from pingan.adapters.db.obligations import ObligationRow
from pingan.adapters.db.status import obligation_domain_expr
from pingan.adapters.db.units import DomainUnitRow, UnitRow
from pingan.core.campaign import Campaign, Gate

_COLUMNS = (
    "campaign_id",
    "gate_id",
    "unit_id",
    "domain_id",
    "opens_on",
    "due_on",
    "status",
    "days_overdue",
    "waived",
)


def _owner_clause(campaign_id: int, gate: Gate, domain_ids: dict[str, int]) -> Any:
    wanted = [domain_ids[k] for k in gate.domains] if gate.domains else list(domain_ids.values())

    def role(name: str) -> Any:
        return UnitRow.id.in_(
            select(DomainUnitRow.unit_id).where(
                DomainUnitRow.role == name, DomainUnitRow.domain_id.in_(wanted)
            )
        )

    parts = []
    for who in gate.owed_by:
        if who == "coordinator":
            parts.append(UnitRow.kind == "coordinator")
        elif who == "lead_units":
            parts.append(role("lead"))
        elif who == "participants":
            parts.append(role("participant"))
        elif who == "villages":
            parts.append(UnitRow.kind == "village")
        else:
            cells = and_(UnitRow.kind == "cell", UnitRow.domain_id.in_(wanted))
            if gate.categories is not None:
                cells = and_(cells, UnitRow.category.in_(gate.categories))
            parts.append(cells)
    return or_(*parts)


def materialise_obligations(session: Session, campaign: Campaign, campaign_id: int) -> int:
    """One obligation per (gate, responsible active unit); one INSERT … SELECT per gate."""
    domain_ids = dict(
        session.execute(
            select(DomainRow.key, DomainRow.id).where(DomainRow.campaign_id == campaign_id)
        ).all()
    )
    gate_rows = {
        g.key: g for g in session.scalars(select(GateRow).where(GateRow.campaign_id == campaign_id))
    }
    before = _count(session, campaign_id)
    _follow_domains(session, campaign_id)
    for gate in campaign.gates:
        gr = gate_rows[gate.key]
        _follow_dates(session, gr)
        owners = _owner_clause(campaign_id, gate, domain_ids)
        _insert_missing(session, campaign_id, gr, owners)
    return _count(session, campaign_id) - before


def _count(session: Session, campaign_id: int) -> int:
    # rowcount of INSERT … SELECT is not reported by every driver (psycopg gives -1).
    return int(
        session.scalar(select(func.count()).where(ObligationRow.campaign_id == campaign_id)) or 0
    )


def _follow_dates(session: Session, gr: GateRow) -> None:
    # Dates may have moved in the YAML: keep copies in step before adding new rows.
    session.execute(
        update(ObligationRow)
        .where(
            ObligationRow.gate_id == gr.id,
            or_(ObligationRow.opens_on != gr.opens_on, ObligationRow.due_on != gr.due_on),
        )
        .values(opens_on=gr.opens_on, due_on=gr.due_on)
    )


def _follow_domains(session: Session, campaign_id: int) -> None:
    """A roster reload may move a cell to another domain, and a campaign change may give a
    domain another lead unit: keep each item's domain (obligation.domain_id) in step with
    its unit, in one UPDATE that writes only the items whose domain changed."""
    units = (
        select(UnitRow.id, obligation_domain_expr().label("dom"))
        .where(UnitRow.campaign_id == campaign_id)
        .subquery()
    )
    ob = table(ObligationRow)
    session.connection().execute(
        update(ob)
        .where(
            ob.c.campaign_id == campaign_id,
            ob.c.unit_id == units.c.id,
            ob.c.domain_id.is_distinct_from(units.c.dom),
        )
        .values(domain_id=units.c.dom)
    )


def _insert_missing(session: Session, campaign_id: int, gr: GateRow, owners: Any) -> None:
    """An obligation for every active unit ``owners`` selects that has none for the gate."""
    source = select(
        literal(campaign_id),
        literal(gr.id),
        UnitRow.id,
        obligation_domain_expr(),
        literal(gr.opens_on),
        literal(gr.due_on),
        literal("not_open"),
        literal(0),
        literal(False),
    ).where(
        UnitRow.campaign_id == campaign_id,
        UnitRow.status == "active",
        owners,
        ~exists().where(ObligationRow.gate_id == gr.id, ObligationRow.unit_id == UnitRow.id),
    )
    session.connection().execute(insert(table(ObligationRow)).from_select(list(_COLUMNS), source))

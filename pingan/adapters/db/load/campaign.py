"""The campaign's own rows: the campaign, its domains, organisations, phases and gates."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from pingan.adapters.db.base import utcnow
from pingan.adapters.db.campaigns import CampaignRow, DomainRow, GateRow, PhaseRow
from pingan.adapters.db.load.summary import AuditEvent, LoadSummary, audit
from pingan.adapters.db.obligations import ObligationRow
from pingan.adapters.db.units import DomainUnitRow, UnitRow
from pingan.core.campaign import Campaign

_ORG_KINDS = ("coordinator", "org")


def campaign_id_by_code(session: Session, code: str) -> int | None:
    return session.scalar(select(CampaignRow.id).where(CampaignRow.code == code))


def upsert_campaign(session: Session, campaign: Campaign, actor: str) -> LoadSummary:
    """Campaign row, domains, phases, gates and the organisations the YAML names."""
    summary = _campaign_row(session, campaign, actor)
    cid = summary.campaign_id
    domains = _domains(session, campaign, cid)
    _org_units(session, campaign, cid)
    session.flush()
    _domain_roles(session, campaign, cid, domains)
    phases = _phases(session, campaign, cid)
    session.flush()
    _gates(session, campaign, cid, phases)
    return summary


def _campaign_row(session: Session, campaign: Campaign, actor: str) -> LoadSummary:
    """Create or update the campaign row; the summary says whether the YAML changed."""
    config = campaign.model_dump(mode="json")
    row = session.scalar(select(CampaignRow).where(CampaignRow.code == campaign.code))
    fingerprint = campaign.fingerprint()
    if row is None:
        row = CampaignRow(
            code=campaign.code,
            name=campaign.name,
            timezone=campaign.timezone,
            config=config,
            fingerprint=fingerprint,
            starts_on=campaign.starts_on,
            ends_on=campaign.ends_on,
        )
        session.add(row)
        session.flush()
        after = {"fingerprint": fingerprint}
        event = AuditEvent(row.id, actor, "campaign.create", "campaign", campaign.code, None, after)
        audit(session, event)
        return LoadSummary(row.id, campaign_changed=True)
    summary = LoadSummary(row.id, campaign_changed=row.fingerprint != fingerprint)
    if summary.campaign_changed:
        before = {"fingerprint": row.fingerprint, "config": row.config}
        after = {"fingerprint": fingerprint}
        audit(
            session,
            AuditEvent(row.id, actor, "campaign.update", "campaign", campaign.code, before, after),
        )
        row.name, row.timezone, row.config = campaign.name, campaign.timezone, config
        row.fingerprint = fingerprint
        row.starts_on, row.ends_on = campaign.starts_on, campaign.ends_on
        row.loaded_at = utcnow()
    return summary


def _domains(session: Session, campaign: Campaign, cid: int) -> dict[str, DomainRow]:
    domains = {
        d.key: d for d in session.scalars(select(DomainRow).where(DomainRow.campaign_id == cid))
    }
    for d in campaign.domains:
        if d.key in domains:
            domains[d.key].name = d.name
        else:
            domains[d.key] = DomainRow(campaign_id=cid, key=d.key, name=d.name)
            session.add(domains[d.key])
    return domains


def _org_units(session: Session, campaign: Campaign, cid: int) -> None:
    """The coordinator and the organisations: added, renamed, reactivated or withdrawn."""
    org_units = [(campaign.coordinator.code, campaign.coordinator.name, "coordinator")] + [
        (u.code, u.name, "org") for u in campaign.units
    ]
    existing = {
        u.code: u
        for u in session.scalars(
            select(UnitRow).where(UnitRow.campaign_id == cid, UnitRow.kind.in_(_ORG_KINDS))
        )
    }
    now = utcnow()
    for code, name, kind in org_units:
        unit = existing.get(code)
        if unit is None:
            session.add(
                UnitRow(
                    campaign_id=cid, code=code, name=name, kind=kind, created_at=now, updated_at=now
                )
            )
        elif (unit.name, unit.kind, unit.status) != (name, kind, "active"):
            unit.name, unit.kind, unit.status, unit.updated_at = name, kind, "active", now
            unit.withdrawn_at = None
    for code in set(existing) - {c for c, _, _ in org_units}:
        if existing[code].status == "active":
            existing[code].status, existing[code].withdrawn_at = "withdrawn", now


def _domain_roles(
    session: Session, campaign: Campaign, cid: int, domains: dict[str, DomainRow]
) -> None:
    """Rewrite each domain's lead unit and participants."""
    unit_ids = dict(
        session.execute(
            select(UnitRow.code, UnitRow.id).where(
                UnitRow.campaign_id == cid, UnitRow.kind.in_(_ORG_KINDS)
            )
        ).all()
    )
    domain_ids = [dr.id for dr in domains.values()]
    session.execute(delete(DomainUnitRow).where(DomainUnitRow.domain_id.in_(domain_ids)))
    roles: list[dict[str, Any]] = []
    for d in campaign.domains:
        roles.append({"domain_id": domains[d.key].id, "unit_id": unit_ids[d.lead], "role": "lead"})
        roles += [
            {"domain_id": domains[d.key].id, "unit_id": unit_ids[p], "role": "participant"}
            for p in d.participants
        ]
    session.execute(insert(DomainUnitRow), roles)


def _phases(session: Session, campaign: Campaign, cid: int) -> dict[str, PhaseRow]:
    phases = {
        p.key: p for p in session.scalars(select(PhaseRow).where(PhaseRow.campaign_id == cid))
    }
    for p in campaign.phases:
        pr = phases.get(p.key) or PhaseRow(campaign_id=cid, key=p.key)
        pr.name, pr.starts_on, pr.ends_on = p.name, p.starts_on, p.ends_on
        if p.key not in phases:
            phases[p.key] = pr
            session.add(pr)
    return phases


def _gates(session: Session, campaign: Campaign, cid: int, phases: dict[str, PhaseRow]) -> None:
    gates = {g.key: g for g in session.scalars(select(GateRow).where(GateRow.campaign_id == cid))}
    for g in campaign.gates:
        gr = gates.get(g.key) or GateRow(campaign_id=cid, key=g.key)
        gr.phase_id, gr.name, gr.deliverable = phases[g.phase].id, g.name, g.deliverable
        gr.evidence, gr.opens_on, gr.due_on = g.evidence, campaign.gate_opens_on(g), g.due_on
        if g.key not in gates:
            gates[g.key] = gr
            session.add(gr)
    session.flush()
    # A gate dropped from the YAML keeps its history; its open obligations are waived.
    dropped = [gr.id for key, gr in gates.items() if key not in {g.key for g in campaign.gates}]
    if dropped:
        session.execute(
            update(ObligationRow)
            .where(ObligationRow.gate_id.in_(dropped), ObligationRow.done_on.is_(None))
            .values(waived=True, waived_reason="该事项已从活动配置中删除")
        )

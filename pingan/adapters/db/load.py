"""Write a validated campaign and roster into the database, set-based and in one transaction.

Upserts are keyed by codes and keys, so loading the same files twice changes nothing; a unit
that leaves the roster is withdrawn, never deleted, and every change is written to the audit log.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, bindparam, delete, exists, func, insert, literal, or_, select, update
from sqlalchemy.orm import Session

from pingan.adapters.db.audit import AuditEventRow
from pingan.adapters.db.base import table, utcnow
from pingan.adapters.db.bulk import bulk_insert
from pingan.adapters.db.campaigns import CampaignRow, DomainRow, GateRow, PhaseRow
from pingan.adapters.db.obligations import ObligationRow
from pingan.adapters.db.units import ContactRow, DomainUnitRow, UnitRow
from pingan.adapters.intake.roster import RosterRow
from pingan.core.campaign import Campaign, Gate

CHUNK = 5000


@dataclass
class LoadSummary:
    campaign_id: int
    campaign_changed: bool = False
    added: int = 0
    changed: int = 0
    withdrawn: int = 0
    reactivated: int = 0
    contacts_written: int = 0
    obligations_created: int = 0
    details: dict[str, Any] = field(default_factory=dict)


def _audit(
    session: Session,
    campaign_id: int | None,
    actor: str,
    action: str,
    entity: str,
    entity_id: str | None,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> None:
    session.add(
        AuditEventRow(
            campaign_id=campaign_id,
            actor=actor,
            action=action,
            entity=entity,
            entity_id=entity_id,
            before=before,
            after=after,
        )
    )


def campaign_id_by_code(session: Session, code: str) -> int | None:
    return session.scalar(select(CampaignRow.id).where(CampaignRow.code == code))


def upsert_campaign(session: Session, campaign: Campaign, actor: str) -> LoadSummary:
    """Campaign row, domains, phases, gates and the organisations the YAML names."""
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
        summary = LoadSummary(row.id, campaign_changed=True)
        _audit(
            session,
            row.id,
            actor,
            "campaign.create",
            "campaign",
            campaign.code,
            None,
            {"fingerprint": fingerprint},
        )
    else:
        summary = LoadSummary(row.id, campaign_changed=row.fingerprint != fingerprint)
        if summary.campaign_changed:
            _audit(
                session,
                row.id,
                actor,
                "campaign.update",
                "campaign",
                campaign.code,
                {"fingerprint": row.fingerprint, "config": row.config},
                {"fingerprint": fingerprint},
            )
            row.name, row.timezone, row.config = campaign.name, campaign.timezone, config
            row.fingerprint = fingerprint
            row.starts_on, row.ends_on = campaign.starts_on, campaign.ends_on
            row.loaded_at = utcnow()
    cid = row.id

    domains = {
        d.key: d for d in session.scalars(select(DomainRow).where(DomainRow.campaign_id == cid))
    }
    for d in campaign.domains:
        if d.key in domains:
            domains[d.key].name = d.name
        else:
            domains[d.key] = DomainRow(campaign_id=cid, key=d.key, name=d.name)
            session.add(domains[d.key])

    org_units = [(campaign.coordinator.code, campaign.coordinator.name, "coordinator")] + [
        (u.code, u.name, "org") for u in campaign.units
    ]
    existing = {
        u.code: u
        for u in session.scalars(
            select(UnitRow).where(
                UnitRow.campaign_id == cid, UnitRow.kind.in_(("coordinator", "org"))
            )
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
    session.flush()

    unit_ids = dict(
        session.execute(
            select(UnitRow.code, UnitRow.id).where(
                UnitRow.campaign_id == cid, UnitRow.kind.in_(("coordinator", "org"))
            )
        ).all()
    )
    domain_ids = [dr.id for dr in domains.values()]
    session.execute(delete(DomainUnitRow).where(DomainUnitRow.domain_id.in_(domain_ids)))
    roles = []
    for d in campaign.domains:
        roles.append({"domain_id": domains[d.key].id, "unit_id": unit_ids[d.lead], "role": "lead"})
        roles += [
            {"domain_id": domains[d.key].id, "unit_id": unit_ids[p], "role": "participant"}
            for p in d.participants
        ]
    session.execute(insert(DomainUnitRow), roles)

    phases = {
        p.key: p for p in session.scalars(select(PhaseRow).where(PhaseRow.campaign_id == cid))
    }
    for p in campaign.phases:
        pr = phases.get(p.key) or PhaseRow(campaign_id=cid, key=p.key)
        pr.name, pr.starts_on, pr.ends_on = p.name, p.starts_on, p.ends_on
        if p.key not in phases:
            phases[p.key] = pr
            session.add(pr)
    session.flush()
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
    return summary


def _chunks(seq: Sequence[Any], n: int = CHUNK) -> Iterable[Sequence[Any]]:
    for i in range(0, len(seq), n):
        yield seq[i : i + n]


def apply_roster(
    session: Session,
    campaign: Campaign,
    campaign_id: int,
    rows: Sequence[RosterRow],
    actor: str,
    *,
    keep_codes: Collection[str] = (),
) -> LoadSummary:
    """Upsert villages, cells and contacts; withdraw roster units missing from ``rows``.

    ``keep_codes`` are codes seen on rejected rows (with --skip-invalid): they are neither
    updated nor withdrawn, so a typo in one row never withdraws a cell.
    """
    summary = LoadSummary(campaign_id)
    now = utcnow()
    domain_ids = dict(
        session.execute(
            select(DomainRow.key, DomainRow.id).where(DomainRow.campaign_id == campaign_id)
        ).all()
    )
    existing: dict[str, tuple[Any, ...]] = {
        r[0]: tuple(r[1:])
        for r in session.execute(
            select(
                UnitRow.code,
                UnitRow.id,
                UnitRow.kind,
                UnitRow.name,
                UnitRow.domain_id,
                UnitRow.village_id,
                UnitRow.category,
                UnitRow.status,
            ).where(UnitRow.campaign_id == campaign_id)
        )
    }
    changes: dict[str, Any] = {"added": [], "changed": {}, "withdrawn": [], "reactivated": []}
    # Supervisors are known now; writing them with the row avoids a second pass over units.
    lead_of = dict(
        session.execute(
            select(DomainUnitRow.domain_id, DomainUnitRow.unit_id).where(
                DomainUnitRow.role == "lead", DomainUnitRow.domain_id.in_(domain_ids.values())
            )
        ).all()
    )
    coordinator_id = session.scalar(
        select(UnitRow.id).where(UnitRow.campaign_id == campaign_id, UnitRow.kind == "coordinator")
    )

    def upsert_kind(kind: str, village_ids: dict[str, int]) -> None:
        new, upd = [], []
        for r in rows:
            if r.kind != kind:
                continue
            domain_id = domain_ids[r.domain] if r.domain else None
            values = {
                "name": r.name,
                "domain_id": domain_id,
                "village_id": village_ids[r.village] if r.village else None,
                "category": r.category,
            }
            old = existing.get(r.code)
            supervisor = lead_of.get(domain_id, coordinator_id) if domain_id else coordinator_id
            if old is None:
                new.append(
                    {
                        "campaign_id": campaign_id,
                        "code": r.code,
                        "kind": kind,
                        "status": "active",
                        "created_at": now,
                        "updated_at": now,
                        "supervisor_id": supervisor,
                        **values,
                    }
                )
                changes["added"].append(r.code)
                continue
            uid, okind, oname, odomain, ovillage, ocat, ostatus = old
            before = {"name": oname, "domain_id": odomain, "village_id": ovillage, "category": ocat}
            diff = {k: [before[k], v] for k, v in values.items() if before[k] != v}
            if okind != kind:
                diff["kind"] = [okind, kind]
            if ostatus != "active":
                changes["reactivated"].append(r.code)
            if diff:
                changes["changed"][r.code] = diff
            if diff or ostatus != "active":
                upd.append(
                    {"uid": uid, "kind": kind, "status": "active", "updated_at": now, **values}
                )
        bulk_insert(session, table(UnitRow), new)
        if upd:
            session.connection().execute(
                update(table(UnitRow))
                .where(table(UnitRow).c.id == bindparam("uid"))
                .values(
                    kind=bindparam("kind"),
                    status=bindparam("status"),
                    updated_at=bindparam("updated_at"),
                    name=bindparam("name"),
                    domain_id=bindparam("domain_id"),
                    village_id=bindparam("village_id"),
                    category=bindparam("category"),
                    withdrawn_at=None,
                ),
                upd,
            )

    upsert_kind("village", {})
    village_ids = dict(
        session.execute(
            select(UnitRow.code, UnitRow.id).where(
                UnitRow.campaign_id == campaign_id, UnitRow.kind == "village"
            )
        ).all()
    )
    upsert_kind("cell", village_ids)

    present = {r.code for r in rows} | set(keep_codes)
    gone = [
        (code, old[0])
        for code, old in existing.items()
        if old[1] in ("village", "cell") and old[6] == "active" and code not in present
    ]
    for part in _chunks(gone):
        session.execute(
            update(UnitRow)
            .where(UnitRow.id.in_([uid for _, uid in part]))
            .values(status="withdrawn", withdrawn_at=now, updated_at=now)
        )
    changes["withdrawn"] = [code for code, _ in gone]

    summary.contacts_written = _write_contacts(session, campaign_id, rows)
    summary.added = len(changes["added"])
    summary.changed = len(changes["changed"])
    summary.withdrawn = len(changes["withdrawn"])
    summary.reactivated = len(changes["reactivated"])
    summary.details = changes
    if any(
        (
            summary.added,
            summary.changed,
            summary.withdrawn,
            summary.reactivated,
            summary.contacts_written,
        )
    ):
        counts = {
            k: summary.__dict__[k]
            for k in ("added", "changed", "withdrawn", "reactivated", "contacts_written")
        }
        _audit(
            session, campaign_id, actor, "roster.import", "unit", None, None, {**counts, **changes}
        )
    return summary


_CONTACT_FIELDS = ("contact", "mobile", "email", "wecom", "dingtalk", "webhook")


def _write_contacts(session: Session, campaign_id: int, rows: Sequence[RosterRow]) -> int:
    """Replace the contact of every roster unit whose contact details changed."""
    ids = dict(
        session.execute(
            select(UnitRow.code, UnitRow.id).where(UnitRow.campaign_id == campaign_id)
        ).all()
    )
    current: dict[int, tuple[Any, ...]] = {
        r[0]: tuple(r[1:])
        for r in session.execute(
            select(
                ContactRow.unit_id,
                ContactRow.name,
                ContactRow.mobile,
                ContactRow.email,
                ContactRow.wecom_ref,
                ContactRow.dingtalk_ref,
                ContactRow.webhook_ref,
            )
            .join(UnitRow, UnitRow.id == ContactRow.unit_id)
            .where(UnitRow.campaign_id == campaign_id)
        )
    }
    replace, fresh = [], []
    for r in rows:
        wanted = tuple(getattr(r, f) for f in _CONTACT_FIELDS)
        uid = ids[r.code]
        if uid in current:
            if current[uid] != wanted:
                replace.append(uid)
            else:
                continue
        if any(wanted):
            fresh.append(
                {
                    "unit_id": uid,
                    "name": r.contact,
                    "mobile": r.mobile,
                    "email": r.email,
                    "wecom_ref": r.wecom,
                    "dingtalk_ref": r.dingtalk,
                    "webhook_ref": r.webhook,
                }
            )
    for part in _chunks(replace):
        session.execute(delete(ContactRow).where(ContactRow.unit_id.in_(list(part))))
    bulk_insert(session, table(ContactRow), fresh)
    return len(fresh) + len([u for u in replace if u not in {f["unit_id"] for f in fresh}])


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
            parts.append(and_(UnitRow.kind == "cell", UnitRow.domain_id.in_(wanted)))
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
    now = utcnow()

    def count() -> int:
        # rowcount of INSERT … SELECT is not reported by every driver (psycopg gives -1).
        return int(
            session.scalar(select(func.count()).where(ObligationRow.campaign_id == campaign_id))
            or 0
        )

    before = count()
    for gate in campaign.gates:
        gr = gate_rows[gate.key]
        # Dates may have moved in the YAML: keep copies in step before adding new rows.
        session.execute(
            update(ObligationRow)
            .where(
                ObligationRow.gate_id == gr.id,
                or_(ObligationRow.opens_on != gr.opens_on, ObligationRow.due_on != gr.due_on),
            )
            .values(opens_on=gr.opens_on, due_on=gr.due_on)
        )
        source = select(
            literal(campaign_id),
            literal(gr.id),
            UnitRow.id,
            literal(gr.opens_on),
            literal(gr.due_on),
            literal("not_open"),
            literal(0),
            literal(False),
            literal(now),
        ).where(
            UnitRow.campaign_id == campaign_id,
            UnitRow.status == "active",
            _owner_clause(campaign_id, gate, domain_ids),
            ~exists().where(ObligationRow.gate_id == gr.id, ObligationRow.unit_id == UnitRow.id),
        )
        session.connection().execute(
            insert(table(ObligationRow)).from_select(
                [
                    "campaign_id",
                    "gate_id",
                    "unit_id",
                    "opens_on",
                    "due_on",
                    "status",
                    "days_overdue",
                    "waived",
                    "created_at",
                ],
                source,
            )
        )
    return count() - before

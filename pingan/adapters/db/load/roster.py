"""The roster's rows: villages, cells and their contacts, upserted set-based by code."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.orm import Session

from pingan.adapters.db.base import table, utcnow
from pingan.adapters.db.bulk import bulk_insert
from pingan.adapters.db.campaigns import DomainRow
from pingan.adapters.db.load.summary import AuditEvent, LoadSummary, audit, chunks
from pingan.adapters.db.units import ContactRow, DomainUnitRow, UnitRow
from pingan.core.campaign import Campaign
from pingan.core.roster import RosterRow

_COUNTS = ("added", "changed", "withdrawn", "reactivated", "contacts_written")


@dataclass(frozen=True)
class _Known:
    """What the database holds before the roster is applied."""

    campaign_id: int
    now: datetime
    domain_ids: dict[str, int]
    # code -> (id, kind, name, domain_id, village_id, category, status)
    existing: dict[str, tuple[Any, ...]]
    lead_of: dict[int, int]  # domain id -> its lead unit's id
    coordinator_id: int | None

    def supervisor(self, domain_id: int | None) -> int | None:
        if not domain_id:
            return self.coordinator_id
        return self.lead_of.get(domain_id, self.coordinator_id)


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
    known = _known(session, campaign_id)
    changes: dict[str, Any] = {"added": [], "changed": {}, "withdrawn": [], "reactivated": []}
    _upsert_kind(session, known, rows, "village", {}, changes)
    village_ids = dict(
        session.execute(
            select(UnitRow.code, UnitRow.id).where(
                UnitRow.campaign_id == campaign_id, UnitRow.kind == "village"
            )
        ).all()
    )
    _upsert_kind(session, known, rows, "cell", village_ids, changes)
    changes["withdrawn"] = _withdraw(session, known, {r.code for r in rows} | set(keep_codes))

    summary.contacts_written = _write_contacts(session, campaign_id, rows)
    summary.added = len(changes["added"])
    summary.changed = len(changes["changed"])
    summary.withdrawn = len(changes["withdrawn"])
    summary.reactivated = len(changes["reactivated"])
    summary.details = changes
    if any(summary.__dict__[k] for k in _COUNTS):
        counts = {k: summary.__dict__[k] for k in _COUNTS}
        after = {**counts, **changes}
        audit(session, AuditEvent(campaign_id, actor, "roster.import", "unit", None, None, after))
    return summary


def _known(session: Session, campaign_id: int) -> _Known:
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
    return _Known(campaign_id, now, domain_ids, existing, lead_of, coordinator_id)


def _upsert_kind(
    session: Session,
    known: _Known,
    rows: Sequence[RosterRow],
    kind: str,
    village_ids: dict[str, int],
    changes: dict[str, Any],
) -> None:
    """Insert the new units of one kind and update those that changed or come back."""
    new, upd = [], []
    now = known.now
    for r in rows:
        if r.kind != kind:
            continue
        domain_id = known.domain_ids[r.domain] if r.domain else None
        values = {
            "name": r.name,
            "domain_id": domain_id,
            "village_id": village_ids[r.village] if r.village else None,
            "category": r.category,
        }
        old = known.existing.get(r.code)
        if old is None:
            new.append(
                {
                    "campaign_id": known.campaign_id,
                    "code": r.code,
                    "kind": kind,
                    "status": "active",
                    "created_at": now,
                    "updated_at": now,
                    "supervisor_id": known.supervisor(domain_id),
                    **values,
                }
            )
            changes["added"].append(r.code)
            continue
        change = _update(old, r.code, kind, values, changes)
        if change is not None:
            upd.append({**change, "updated_at": now})
    bulk_insert(session, table(UnitRow), new)
    _update_units(session, upd)


def _update(
    old: tuple[Any, ...], code: str, kind: str, values: dict[str, Any], changes: dict[str, Any]
) -> dict[str, Any] | None:
    """The update of a known unit (without its time), or None if it stays as it is."""
    uid, okind, oname, odomain, ovillage, ocat, ostatus = old
    before = {"name": oname, "domain_id": odomain, "village_id": ovillage, "category": ocat}
    diff = {k: [before[k], v] for k, v in values.items() if before[k] != v}
    if okind != kind:
        diff["kind"] = [okind, kind]
    if ostatus != "active":
        changes["reactivated"].append(code)
    if diff:
        changes["changed"][code] = diff
    if diff or ostatus != "active":
        return {"uid": uid, "kind": kind, "status": "active", **values}
    return None


def _update_units(session: Session, upd: list[dict[str, Any]]) -> None:
    if not upd:
        return
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


def _withdraw(session: Session, known: _Known, present: set[str]) -> list[str]:
    """Withdraw the active villages and cells not in ``present``; their codes."""
    gone = [
        (code, old[0])
        for code, old in known.existing.items()
        if old[1] in ("village", "cell") and old[6] == "active" and code not in present
    ]
    for part in chunks(gone):
        session.execute(
            update(UnitRow)
            .where(UnitRow.id.in_([uid for _, uid in part]))
            .values(status="withdrawn", withdrawn_at=known.now, updated_at=known.now)
        )
    return [code for code, _ in gone]


# A contact row's values, in the order _contact_rows builds and _current reads them.
_CONTACT_COLUMNS = (
    "seq",
    "name",
    "role",
    "mobile",
    "email",
    "wecom_userid",
    "dingtalk_userid",
    "wecom_ref",
    "dingtalk_ref",
    "webhook_ref",
)


def _contact_rows(r: RosterRow) -> tuple[tuple[Any, ...], ...]:
    """The contact rows a roster row asks for: one per person, the unit's robot and webhook
    references on the first row (a row of its own when the roster names no person)."""
    robots = (r.wecom, r.dingtalk, r.webhook)
    persons = r.persons()
    rows = [
        (p.seq, p.name, p.role, p.mobile, p.email, p.wecom_userid, p.dingtalk_userid)
        + (robots if i == 0 else (None, None, None))
        for i, p in enumerate(persons)
    ]
    if not rows and any(robots):
        rows.append((1, None, None, None, None, None, None, *robots))
    return tuple(rows)


def _current(session: Session, campaign_id: int) -> dict[int, tuple[tuple[Any, ...], ...]]:
    """Each unit's contact rows as _contact_rows gives them, in roster order."""
    cols = [getattr(ContactRow, c) for c in _CONTACT_COLUMNS]
    current: dict[int, list[tuple[Any, ...]]] = {}
    for r in session.execute(
        select(ContactRow.unit_id, *cols)
        .join(UnitRow, UnitRow.id == ContactRow.unit_id)
        .where(UnitRow.campaign_id == campaign_id)
        .order_by(ContactRow.unit_id, ContactRow.seq, ContactRow.id)
    ):
        current.setdefault(r[0], []).append(tuple(r[1:]))
    return {uid: tuple(rows) for uid, rows in current.items()}


def _write_contacts(session: Session, campaign_id: int, rows: Sequence[RosterRow]) -> int:
    """Replace the contact rows (persons) of every roster unit whose contacts changed."""
    ids = dict(
        session.execute(
            select(UnitRow.code, UnitRow.id).where(UnitRow.campaign_id == campaign_id)
        ).all()
    )
    current = _current(session, campaign_id)
    replace: list[int] = []
    fresh: list[dict[str, Any]] = []
    touched: set[int] = set()
    for r in rows:
        wanted = _contact_rows(r)
        uid = ids[r.code]
        if current.get(uid, ()) == wanted:
            continue
        if uid in current:
            replace.append(uid)
        if wanted:
            touched.add(uid)
            fresh.extend(
                {"unit_id": uid, **dict(zip(_CONTACT_COLUMNS, values, strict=True))}
                for values in wanted
            )
    for part in chunks(replace):
        session.execute(delete(ContactRow).where(ContactRow.unit_id.in_(list(part))))
    bulk_insert(session, table(ContactRow), fresh)
    return len(touched) + len([u for u in replace if u not in touched])

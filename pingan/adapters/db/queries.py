"""Read-side queries for the CLI and reports."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, func, or_, select
from sqlalchemy.orm import aliased

from pingan.adapters.db.campaigns import DomainRow
from pingan.adapters.db.units import ContactRow, UnitRow

KIND_LABELS = {
    "coordinator": "协调机构",
    "org": "单位",
    "village": "村（社区）",
    "cell": "创建单位",
}
STATUS_LABELS = {"active": "在册", "withdrawn": "已撤销"}


def list_units(
    engine: Engine, campaign_id: int, *, domain: str | None = None, include_withdrawn: bool = False
) -> list[dict[str, Any]]:
    village = aliased(UnitRow)
    # One contact per unit is shown; min() picks a stable one without a window function.
    contact = (
        select(ContactRow.unit_id, func.min(ContactRow.id).label("cid"))
        .group_by(ContactRow.unit_id)
        .subquery()
    )
    query = (
        select(
            UnitRow.code,
            UnitRow.name,
            UnitRow.kind,
            DomainRow.key.label("domain"),
            DomainRow.name.label("domain_name"),
            village.code.label("village"),
            village.name.label("village_name"),
            UnitRow.category,
            UnitRow.status,
            ContactRow.name.label("contact"),
            ContactRow.mobile,
            ContactRow.email,
        )
        .select_from(UnitRow)
        .outerjoin(DomainRow, DomainRow.id == UnitRow.domain_id)
        .outerjoin(village, village.id == UnitRow.village_id)
        .outerjoin(contact, contact.c.unit_id == UnitRow.id)
        .outerjoin(ContactRow, ContactRow.id == contact.c.cid)
        .where(UnitRow.campaign_id == campaign_id)
        .order_by(UnitRow.id)
    )
    if domain:
        query = query.where(or_(DomainRow.key == domain, DomainRow.name == domain))
    if not include_withdrawn:
        query = query.where(UnitRow.status == "active")
    with engine.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(query)]
    for r in rows:
        r["kind_label"] = KIND_LABELS.get(r["kind"], r["kind"])
        r["status_label"] = STATUS_LABELS.get(r["status"], r["status"])
    return rows


def unit_counts(engine: Engine, campaign_id: int) -> dict[str, int]:
    query = (
        select(UnitRow.kind, UnitRow.status, func.count())
        .where(UnitRow.campaign_id == campaign_id)
        .group_by(UnitRow.kind, UnitRow.status)
    )
    counts: dict[str, int] = {}
    with engine.connect() as conn:
        for kind, status, n in conn.execute(query):
            label = KIND_LABELS.get(kind, kind) + ("" if status == "active" else "（已撤销）")
            counts[label] = counts.get(label, 0) + n
    return counts

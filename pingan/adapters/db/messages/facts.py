"""The plain facts of a notification — its kind, the unit, the item and its due date — for
channels that cannot carry free text (SMS templates fill named parameters from these).

Values are plain, unescaped text as the roster and campaign give them; a channel that puts
them into markup escapes them itself.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from pingan.adapters.db.campaigns import GateRow
from pingan.adapters.db.notifications import NotificationRow
from pingan.adapters.db.obligations import ObligationRow
from pingan.adapters.db.units import UnitRow

CHUNK = 5000
Facts = tuple[str, tuple[tuple[str, str], ...]]


def message_facts(session: Session, ids: Sequence[int]) -> dict[int, Facts]:
    """(kind, params) by notification id; params name ``unit`` always, and ``item``,
    ``due_on`` (YYYY-MM-DD) and ``days_overdue`` when the message is about one item."""
    out: dict[int, Facts] = {}
    for i in range(0, len(ids), CHUNK):
        rows = session.execute(
            select(
                NotificationRow.id,
                NotificationRow.kind,
                NotificationRow.planned_on,
                UnitRow.name,
                GateRow.name.label("item"),
                ObligationRow.due_on,
                ObligationRow.days_overdue,
            )
            .join(UnitRow, UnitRow.id == NotificationRow.recipient_unit_id)
            .outerjoin(ObligationRow, ObligationRow.id == NotificationRow.obligation_id)
            .outerjoin(GateRow, GateRow.id == ObligationRow.gate_id)
            .where(NotificationRow.id.in_(list(ids[i : i + CHUNK])))
        )
        for r in rows:
            params = [("unit", r.name), ("date", r.planned_on.isoformat())]
            if r.item is not None:
                params += [
                    ("item", r.item),
                    ("due_on", r.due_on.isoformat()),
                    ("days_overdue", str(r.days_overdue or 0)),
                ]
            out[r.id] = (r.kind, tuple(params))
    return out

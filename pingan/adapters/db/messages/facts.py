"""The plain facts of a notification — its kind, the unit, the item and its due date — for
channels that cannot carry free text (SMS templates fill named parameters from these).

Values are plain, unescaped text as the roster and campaign give them; a channel that puts
them into markup escapes them itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from pingan.adapters.db.campaigns import GateRow
from pingan.adapters.db.notifications import NotificationRow
from pingan.adapters.db.obligations import ObligationRow
from pingan.adapters.db.units import UnitRow

CHUNK = 5000
Facts = tuple[str, tuple[tuple[str, str], ...]]


def short_date(day: date) -> str:
    """ "5月15日": short enough for the tightest vendor limit on a template variable."""
    return f"{day.month}月{day.day}日"


def message_facts(session: Session, ids: Sequence[int]) -> dict[int, Facts]:
    """(kind, params) by notification id, with the variable names of docs/channels.md:
    ``unit`` always; ``item``, ``due`` (5月15日) and ``days`` (working days overdue) when
    the message is about one item; ``title`` (the subject) for a bulletin. A digest's
    ``count`` is added where its items are counted (pingan.adapters.outbox.freeze)."""
    out: dict[int, Facts] = {}
    for i in range(0, len(ids), CHUNK):
        rows = session.execute(
            select(
                NotificationRow.id,
                NotificationRow.kind,
                NotificationRow.subject,
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
            out[r.id] = facts_of(r.kind, r.subject, r.name, r.item, r.due_on, r.days_overdue)
    return out


def facts_of(
    kind: str,
    subject: str | None,
    unit: str,
    item: str | None,
    due_on: date | None,
    days_overdue: int | None,
) -> Facts:
    """(kind, params) of one notification from its columns, as ``message_facts`` reads them
    (for a caller that selects them with its own query)."""
    params = [("unit", unit)]
    if item is not None and due_on is not None:
        params += [("item", item), ("due", short_date(due_on)), ("days", str(days_overdue or 0))]
    if kind == "bulletin" and subject:
        params.append(("title", subject))
    return (kind, tuple(params))

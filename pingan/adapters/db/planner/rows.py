"""What every planned notification shares: one row builder, one dedupe-key scheme, and one
INSERT that leaves alone what was planned before.

What a row is about is unique in the outbox — (obligation, kind, level) for per-item rows,
which store no text key (pingan.adapters.db.notifications derives theirs), the dedupe key
for the others — and every insert is ON CONFLICT DO NOTHING on the index that decides, so a
repeated or concurrent run plans nothing twice. Per-cell kinds are planned with INSERT …
SELECT and rendered on first delivery; per-recipient kinds may be rendered when planned.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, String, cast, literal, null, select, text
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import Null

from pingan.adapters.db.base import table
from pingan.adapters.db.bulk import insert_or_ignore, rowcount
from pingan.adapters.db.campaigns import CampaignRow
from pingan.adapters.db.notifications import TEXT_KEYED, NotificationRow

KEY_SEPARATOR = ":"
SUBJECT_LIMIT = 500  # notification.subject
COLUMNS = (
    "campaign_id",
    "dedupe_key",
    "kind",
    "level",
    "recipient_unit_id",
    "obligation_id",
    "planned_on",
    "state",
    "attempts",
    "next_attempt_at",
)
OBLIGATION = COLUMNS.index("obligation_id")
# The unique index that says whether a row is new: the item's for rows with an obligation,
# the text key's for the others (no row is in both). Naming it spares PostgreSQL a check of
# the other index per row.
ITEM_TARGET: dict[str, Any] = {"index_elements": ["obligation_id", "kind", "level"]}
TEXT_TARGET: dict[str, Any] = {"index_elements": ["dedupe_key"], "index_where": text(TEXT_KEYED)}


def text_key(*parts: object) -> str:
    """A dedupe key: the parts joined by ':'."""
    return KEY_SEPARATOR.join(str(p) for p in parts)


def sql_key(*parts: object) -> ColumnElement[str]:
    """text_key in SQL, for keys made of columns (cast to text; Core or ORM) and values."""
    merged: list[Any] = []
    for i, part in enumerate(parts):
        is_column = isinstance(part, ColumnElement) or hasattr(part, "__clause_element__")
        piece = cast(part, String) if is_column else str(part)
        for token in ([KEY_SEPARATOR] if i else []) + [piece]:
            if isinstance(token, str) and merged and isinstance(merged[-1], str):
                merged[-1] += token
            else:
                merged.append(token)
    expr: Any = None
    for token in merged:
        sql = literal(token) if isinstance(token, str) else token
        expr = sql if expr is None else expr + sql
    return expr  # type: ignore[no-any-return]


@dataclass(frozen=True)
class Planning:
    """What every row of one planning run shares: the campaign, the day it is planned for
    (the day the message speaks of) and the moment of planning."""

    campaign_id: int
    planned_on: date
    now: datetime

    def columns(
        self, key: Any, kind: str, level: Any, recipient: Any, obligation: Any = None
    ) -> list[Any]:
        """The SELECT list of an INSERT … SELECT into COLUMNS (text rendered when sent): a
        text ``key``, or for per-item rows an ``obligation`` (whose unit is the recipient)
        and no key, which notifications.message_key derives."""
        if key is None and obligation is None:
            raise ValueError("a planned row without an obligation needs a text key")
        return [
            literal(self.campaign_id),
            null() if key is None else key,
            literal(kind),
            level,
            recipient,
            null() if obligation is None else obligation,
            literal(self.planned_on),
            literal("queued"),
            literal(0),
            literal(self.now),
        ]

    def rendered(
        self, key: str, kind: str, level: int, recipient: int, text: tuple[str, str]
    ) -> dict[str, Any]:
        """A row rendered when planned: the outbox sends its subject and body as they are."""
        subject, body = text
        return {
            "campaign_id": self.campaign_id,
            "dedupe_key": key,
            "kind": kind,
            "level": level,
            "recipient_unit_id": recipient,
            "obligation_id": None,
            "planned_on": self.planned_on,
            "subject": subject[:SUBJECT_LIMIT],
            "body": body,
            "state": "queued",
            "attempts": 0,
            "next_attempt_at": self.now,
        }


def hold_campaign(session: Session, campaign_id: int) -> None:
    """What the outbox's foreign key to campaign did, once per statement instead of once per
    row: the campaign must exist, and on PostgreSQL it cannot be deleted before this
    transaction ends (FOR KEY SHARE, the lock the key's check took)."""
    found = session.scalar(
        select(CampaignRow.id)
        .where(CampaignRow.id == campaign_id)
        .with_for_update(read=True, key_share=True)
    )
    if found is None:
        raise LookupError(f"campaign {campaign_id} does not exist")


def insert_planned(
    session: Session, planning: Planning, source: Select[Any] | Sequence[Mapping[str, Any]]
) -> int:
    """Insert the rows of ``source`` (a SELECT of Planning.columns, or rendered rows) that
    are new, as the unique index covering them says; how many were."""
    stmt = insert_or_ignore(session, table(NotificationRow))
    if isinstance(source, Select):
        stmt = stmt.from_select(COLUMNS, source)
        items = not isinstance(source.selected_columns[OBLIGATION], Null)
        target = ITEM_TARGET if items else TEXT_TARGET
    elif source:
        stmt = stmt.values(list(source))
        with_item = {r.get("obligation_id") is not None for r in source}
        # Both kinds of rows: no target, so a row is left alone when either index holds it.
        target = {} if len(with_item) > 1 else ITEM_TARGET if True in with_item else TEXT_TARGET
    else:
        return 0
    hold_campaign(session, planning.campaign_id)
    stmt = stmt.on_conflict_do_nothing(**target)
    return rowcount(session.execute(stmt, execution_options={"preserve_rowcount": True}))

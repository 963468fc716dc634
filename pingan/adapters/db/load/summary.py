"""What a load changed, and how each change is written to the audit log."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from pingan.adapters.db.audit import AuditEventRow

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


@dataclass(frozen=True)
class AuditEvent:
    campaign_id: int | None
    actor: str
    action: str
    entity: str
    entity_id: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None


def audit(session: Session, event: AuditEvent) -> None:
    session.add(
        AuditEventRow(
            campaign_id=event.campaign_id,
            actor=event.actor,
            action=event.action,
            entity=event.entity,
            entity_id=event.entity_id,
            before=event.before,
            after=event.after,
        )
    )


def chunks(seq: Sequence[Any], n: int = CHUNK) -> Iterable[Sequence[Any]]:
    for i in range(0, len(seq), n):
        yield seq[i : i + n]

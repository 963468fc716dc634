"""A mail on its way through one batch: what it is, what was decided, what it became."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from pingan.adapters.intake.collect.model import Item
from pingan.adapters.intake.mail.parse import ParsedMail


@dataclass(slots=True)
class Decided:
    uid: int
    mail: ParsedMail
    received_at: datetime
    raw: bytes | None  # the raw mail, kept only for a whole-mail quarantine
    ignored: str | None = None  # why it is no submission (logged, never answered)
    refusal: tuple[str, str] | None = None  # (code, reason) for the whole mail
    unit: str | None = None
    items: list[Item] = field(default_factory=list)  # one per attachment, in order

    def refuse(self, code: str, reason: str) -> None:
        self.refusal = (code, reason)

    @property
    def unsettled(self) -> bool:
        """Some attachment was left for a later run (it could not be stored): the mail is
        neither recorded nor marked, so the next run takes it again."""
        return any(i.outcome is None or i.outcome.state == "skipped" for i in self.items)

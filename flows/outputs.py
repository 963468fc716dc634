"""What each flow returns: typed, so a caller (the demo, a parent flow, a test) reads fields,
not dictionary keys, and the Prefect UI shows a stable shape."""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel, Field


class DeliveryOutput(BaseModel):
    """One dispatch run (pingan.adapters.outbox.DispatchReport)."""

    sent: int = 0
    failed: int = 0
    dead: int = 0
    cancelled: int = 0
    deferred: int = 0
    rate_limited: int = 0
    expanded: int = 0
    no_contact: int = 0
    lost_leases: int = 0
    fallbacks: int = 0
    batches: int = 0
    quiet_until: str | None = None
    next_due_at: str | None = None
    errors: dict[str, int] = Field(default_factory=dict)

    @classmethod
    def of(cls, report: Any) -> DeliveryOutput:
        return cls.model_validate(report.as_dict())


class IntakeOutput(BaseModel):
    accepted: int
    duplicates: int
    rejected: int
    late: int


class TickOutput(BaseModel):
    as_of: date
    dry_run: bool
    reminders: int
    escalations: int
    digests: int
    obligations: dict[str, int]
    intake: IntakeOutput | None = None
    delivery: DeliveryOutput | None = None


class BulletinOutput(BaseModel):
    week: str
    recipients: int
    planned: int


class ReportOutput(BaseModel):
    as_of: date
    html: str
    xlsx: str
    coverage: float | None
    pass_rate: float | None
    red: int
    bulletin: BulletinOutput | None = None
    delivery: DeliveryOutput | None = None


class AwardOutput(BaseModel):
    as_of: date
    issued_on: date | None = None  # the award date, when the run granted
    awarded: int
    by_domain: dict[str, int] = Field(default_factory=dict)
    waiting: int
    excluded: int
    notices: int
    revoked: list[str]
    documents: dict[str, Any] | None


class SignOffOutput(BaseModel):
    approved: bool
    approver: str


class AcceptanceOutput(BaseModel):
    as_of: date
    assessed: int
    passed: int
    onsite: dict[str, int] | None = None
    signoff: SignOffOutput | None = None
    award: AwardOutput | None = None

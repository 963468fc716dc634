"""The campaign model: a frozen pydantic class per section of the YAML (see docs/campaign.md).

The schema here checks each field on its own; the rules package checks fields against each
other, and load reads a file into this model.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date, time
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from pingan.core.campaign.channels import ChannelsConfig
from pingan.core.campaign.codes import CODE_PATTERN, KEY_PATTERN
from pingan.core.campaign.organisation import Organisation, Wording, wording
from pingan.core.timeofday import HHMM, QuietHours, QuietHoursText

Code = Annotated[str, Field(pattern=f"^{CODE_PATTERN}$")]
Key = Annotated[str, Field(pattern=f"^{KEY_PATTERN}$")]
Text = Annotated[str, Field(min_length=1, max_length=500)]
# Shorter where the text becomes a database column: unit.name, domain.name and phase.name
# are 200 characters, unit.category 64 (PostgreSQL refuses longer values at load time).
Name = Annotated[str, Field(min_length=1, max_length=200)]
Category = Annotated[str, Field(min_length=1, max_length=64)]

# Who can owe a gate. "cells" may be narrowed to some domains with Gate.domains.
OwedBy = Literal["coordinator", "lead_units", "participants", "villages", "cells"]
LadderTarget = Literal["contact", "lead", "coordinator"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Office(_Model):
    name: Text
    phone: str | None = None
    fax: str | None = None
    email: str | None = None


class Coordinator(_Model):
    code: Code
    name: Name
    office: Office | None = None


class UnitDef(_Model):
    """An organisation named in the campaign document (lead units, participating units)."""

    code: Code
    name: Name
    group: bool = Field(
        default=False,
        description="True when the document names a group of units without listing members",
    )
    note: str | None = None


class Criterion(_Model):
    key: Key
    name: Text
    points: float = Field(gt=0)
    description: str | None = None


class Deduction(_Model):
    """Points taken off per occurrence, capped, e.g. 每发生一起扣 5 分, 最多扣 20 分."""

    key: Key
    name: Text
    points_each: float = Field(gt=0)
    max_points: float = Field(gt=0)


class Veto(_Model):
    """一票否决: any one occurrence fails the cell whatever its score."""

    key: Key
    name: Text


class Rubric(_Model):
    total: float = Field(gt=0)
    pass_mark: float = Field(gt=0)
    criteria: list[Criterion] = Field(min_length=1)
    deductions: list[Deduction] = []
    vetoes: list[Veto] = []
    assumed: bool = False
    note: str | None = None


class DomainTargets(_Model):
    """A domain's own targets; a field left out is the campaign's."""

    coverage: float | None = None
    pass_rate: float | None = None


class Domain(_Model):
    key: Key
    name: Name
    lead: Code
    participants: list[Code] = []
    cell_categories: list[Category] = Field(min_length=1)
    title: Text = Field(description="命名挂牌 title awarded to a passed cell, e.g. 平安校园")
    rubric: Rubric
    targets: DomainTargets | None = None
    description: str | None = None


class Phase(_Model):
    key: Key
    name: Name
    starts_on: date
    ends_on: date
    overlap_allowed: bool = Field(
        default=False, description="the plan lets this phase run alongside its neighbours"
    )
    assumed: bool = False
    note: str | None = None


class Gate(_Model):
    key: Key
    name: Text
    phase: Key
    deliverable: Key = Field(description="material kind; the inbox folder name")
    owed_by: list[OwedBy] = Field(min_length=1)
    domains: list[Key] | None = None
    categories: list[Category] | None = Field(
        default=None, description="cells of these categories only (cell_categories)"
    )
    opens_on: date | None = None
    due_on: date
    evidence: Literal["files", "assessment"] = "files"
    assumed: bool = False
    note: str | None = None


class Targets(_Model):
    coverage: float
    pass_rate: float
    coverage_gate: Key = Field(description="gate whose accepted submission counts a cell covered")


class Reminders(_Model):
    days_before: list[Annotated[int, Field(ge=1, le=60)]] = Field(default=[3, 1], min_length=1)


class LadderStep(_Model):
    after: int = Field(ge=1, le=365, description="working days overdue")
    notify: LadderTarget


class Escalation(_Model):
    ladder: list[LadderStep] = Field(min_length=1)
    repeat_every: int | None = Field(default=None, ge=1, le=365)


class NotificationSettings(_Model):
    quiet_hours: QuietHoursText | None = Field(
        default=QuietHours(time(20, 0), time(8, 0)),
        description='local time, written "20:00-08:00"; null: no quiet hours',
    )
    working_days_only: bool = True
    max_attempts: int = Field(default=6, ge=1, le=50)
    base_backoff_s: float = Field(default=60, gt=0)
    robot_rate_per_minute: int = Field(default=20, ge=1, le=1000)


PersonalChannel = Literal["wecom-app", "dingtalk-work", "sms", "email"]
DEFAULT_PREFERENCE: tuple[PersonalChannel, ...] = ("wecom-app", "dingtalk-work", "sms", "email")


def _distinct(channels: list[PersonalChannel]) -> list[PersonalChannel]:
    if len(set(channels)) != len(channels):
        raise ValueError("渠道不能重复")
    return channels


class DeliverySettings(_Model):
    """How a message reaches a person (docs/channels.md): the personal channels in order of
    preference; a person gets the first one they have an address for, and the next one when
    a delivery on it dies."""

    preference: Annotated[list[PersonalChannel], Field(min_length=1), AfterValidator(_distinct)] = (
        Field(default=list(DEFAULT_PREFERENCE), description="personal channels, first first")
    )


class CalendarConfig(_Model):
    mode: Literal["cn", "weekdays", "calendar"] = "cn"
    overrides_dir: str = "../calendars"


class Ceremony(_Model):
    """A 命名挂牌 or other ceremony on a date, with no phase of its own."""

    name: Name
    held_on: date
    place: Text | None = None
    domains: list[Key] | None = None
    note: str | None = None


class AwardConfig(_Model):
    number_format: Text = "{prefix}{title}〔{year}〕第{seq:03d}号"
    prefix: str = ""
    issued_on: date | None = Field(default=None, description="defaults to the plaque phase start")
    ceremonies: list[Ceremony] = []
    assumed: bool = False
    note: str | None = None


class Approver(_Model):
    """A person of the coordinator (综治委) who signs off the acceptance on a phone: reached by
    the first personal contact given (企业微信, 钉钉, SMS), else email (docs/acceptance.md)."""

    name: Name
    role: Text | None = None
    mobile: str | None = None
    email: str | None = None
    wecom_userid: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    dingtalk_userid: Annotated[str, Field(min_length=1, max_length=64)] | None = None


class AcceptanceConfig(_Model):
    approvers: list[Approver] = Field(default=[], max_length=20)


class ScheduleConfig(_Model):
    """When the Prefect deployments run, in the campaign's local time (deployments/build.py)."""

    tick_at: HHMM = Field(default=time(9, 0), description="daily tick, first phase to the award")
    acceptance_at: HHMM = Field(default=time(10, 0), description="once, first day of acceptance")
    report_weekday: Literal["MO", "TU", "WE", "TH", "FR", "SA", "SU"] = "MO"
    report_at: HHMM = time(10, 0)
    dispatch_every_minutes: Literal[5, 10, 12, 15, 20, 30, 60] | None = Field(
        default=60,
        description="outside the quiet hours; null: only the tick's own dispatch and manual runs",
    )


class MailIntake(_Model):
    """The mailbox units send materials to (docs/mail.md); read over IMAP during collect."""

    host: Annotated[str, Field(min_length=1, max_length=253)]
    port: int | None = Field(default=None, ge=1, le=65535, description="993 / 143 by security")
    security: Literal["imaps", "starttls"] = "imaps"
    user: Annotated[str, Field(min_length=1, max_length=254)]
    # A reference (secret:name / env:NAME) checked by rules.mail, which never echoes it.
    password: Annotated[str, Field(min_length=1)]
    folder: Annotated[str, Field(min_length=1, max_length=200)] = "INBOX"
    processed_folder: Annotated[str, Field(min_length=1, max_length=200)] | None = Field(
        default=None, description="move handled mail here; unset: flag it $PinganDone"
    )
    batch_size: int = Field(default=50, ge=1, le=1000)
    ca_file: str | None = Field(default=None, description="extra CA bundle (own servers)")


class Campaign(_Model):
    code: Code
    name: Text
    issuer: Text
    issued_on: date
    short_name: Text | None = Field(default=None, description="used in message subjects")
    document: Text | None = None
    how_to_submit: Text | None = None
    templates_dir: str | None = Field(default=None, description="overrides, relative to the YAML")
    timezone: str = "Asia/Shanghai"
    organisation: Organisation | None = None
    calendar: CalendarConfig = CalendarConfig()
    coordinator: Coordinator
    units: list[UnitDef] = []
    domains: list[Domain] = Field(min_length=1)
    phases: list[Phase] = Field(min_length=1)
    gates: list[Gate] = Field(min_length=1)
    targets: Targets
    reminders: Reminders = Reminders()
    escalation: Escalation
    award: AwardConfig = AwardConfig()
    acceptance: AcceptanceConfig = AcceptanceConfig()
    notifications: NotificationSettings = NotificationSettings()
    delivery: DeliverySettings = DeliverySettings()
    schedule: ScheduleConfig = ScheduleConfig()
    mail_intake: MailIntake | None = None
    channels: ChannelsConfig = ChannelsConfig()  # personal channels (docs/channels.md)

    # -- lookups used everywhere else -------------------------------------------------------
    def domain(self, key: str) -> Domain:
        return next(d for d in self.domains if d.key == key)

    def phase(self, key: str) -> Phase:
        return next(p for p in self.phases if p.key == key)

    def gate(self, key: str) -> Gate:
        return next(g for g in self.gates if g.key == key)

    def targets_for(self, domain_key: str | None) -> Targets:
        """The targets a domain is measured against (the campaign's where it sets none)."""
        own = self.domain(domain_key).targets if domain_key else None
        if own is None:
            return self.targets
        return self.targets.model_copy(
            update={k: v for k, v in own.model_dump().items() if v is not None}
        )

    @property
    def wording(self) -> Wording:
        return wording(self)

    def gate_opens_on(self, gate: Gate) -> date:
        return gate.opens_on or self.phase(gate.phase).starts_on

    @property
    def starts_on(self) -> date:
        return min(p.starts_on for p in self.phases)

    @property
    def ends_on(self) -> date:
        return max(p.ends_on for p in self.phases)

    def years(self) -> list[int]:
        return list(range(self.starts_on.year, self.ends_on.year + 1))

    def fingerprint(self) -> str:
        return hashlib.sha256(
            json.dumps(self.model_dump(mode="json"), sort_keys=True).encode()
        ).hexdigest()

"""The report's data: plain frozen dataclasses, filled by pingan.adapters.db.reporting and
read by the renderers. No database or framework imports, so renderers and their tests need
neither."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime

from pingan.adapters.render.messages import cn_date
from pingan.core.campaign import Wording
from pingan.core.gates import STATUSES, Status
from pingan.core.scoring import DomainKpi

NO_CHANNEL = "none"  # notifications that have no delivery at all (no usable contact)


def pct(x: float | None) -> str:
    """A ratio for readers: "85.2%"; whole percentages (targets such as 90%) without decimals."""
    if x is None:
        return "—"
    return f"{x:.0%}" if float(round(x * 100, 6)).is_integer() else f"{x:.1%}"


def acceptance_note(as_of: date, opens_on: date | None) -> str:
    """What to say about acceptance while no cell has been assessed."""
    if opens_on is not None and as_of < opens_on:
        return f"考核验收尚未开始（{cn_date(opens_on)}起）"
    return "尚无考核验收结果"


@dataclass(frozen=True)
class DomainReport:
    key: str
    name: str
    lead: str  # the lead unit's name
    kpi: DomainKpi
    awarded: int
    overdue: int  # late, unsubmitted items of this domain (cells, and the lead unit's own)


@dataclass(frozen=True)
class Burndown:
    """Obligations per status on every day from the first phase's start to the report date."""

    days: tuple[date, ...]
    series: Mapping[Status, tuple[int, ...]]

    def on(self, day: date) -> dict[Status, int]:
        i = self.days.index(day)
        return {s: self.series[s][i] for s in STATUSES}


@dataclass(frozen=True)
class VillageLate:
    code: str | None  # None: units that belong to no village
    name: str
    overdue: int  # late and still not submitted
    done_late: int  # submitted after the due date


@dataclass(frozen=True)
class ChannelCount:
    channel: str  # a channel name, or NO_CHANNEL for notifications with no delivery
    state: str
    count: int


@dataclass(frozen=True)
class RedItem:
    domain: str
    village: str
    unit_code: str
    unit_name: str
    gate: str
    due_on: date
    days_overdue: int  # working days
    level: int  # escalation level the ladder gives that many days
    target: str  # who the ladder tells at that level: contact, lead, coordinator ("" at 0)
    told: str  # the same in words, for the reader
    assessment: bool  # the assessment team's item: not escalated by messages


@dataclass(frozen=True)
class FailedCell:
    domain: str
    village: str
    unit_code: str
    unit_name: str
    round: int
    assessed_on: date
    total: float
    pass_mark: float
    vetoed: bool
    reasons: tuple[str, ...]
    assessor: str | None


@dataclass(frozen=True)
class ReportData:
    campaign_code: str
    campaign_name: str
    short_name: str
    issuer: str
    coordinator: str  # the coordinating body as the campaign names it, e.g. 区综治委
    org: Wording  # the organisation's phrases (全区, 乡镇, 区直属单位 …)
    office: str  # who compiles the report: the coordinator's office
    as_of: date
    generated_at: datetime  # local time of the campaign
    phase: str | None  # the phase running on as_of
    phases: tuple[tuple[str, date, date], ...]  # (name, starts_on, ends_on)
    ladder: tuple[tuple[int, str], ...]  # (working days overdue, who is told), in order
    repeat_every: int | None  # working days between repeats after the last rung
    starts_on: date
    ends_on: date
    assessment_opens_on: date | None  # when acceptance starts (the assessment gates open)
    coverage_target: float
    pass_rate_target: float
    domains: tuple[DomainReport, ...]
    overall: DomainKpi
    awarded: int
    obligations: Mapping[Status, int]  # on as_of
    burndown: Burndown
    late_by_village: tuple[VillageLate, ...]
    notifications: tuple[ChannelCount, ...]
    notification_kinds: Mapping[str, int]
    red_items: tuple[RedItem, ...]
    failed_cells: tuple[FailedCell, ...]
    # Read receipts (签收): units whose latest reminder or escalation was sent, and of
    # those the ones that opened their personal link since (pingan.adapters.db.receipts).
    told_units: int = 0
    seen_units: int = 0

    @property
    def acceptance(self) -> str:
        return acceptance_note(self.as_of, self.assessment_opens_on)

    @property
    def area(self) -> str:
        return self.org.whole

    @property
    def late_submissions(self) -> tuple[RedItem, ...]:
        """Red items a unit owes (逾期未报); the rest are cells not assessed in time."""
        return tuple(r for r in self.red_items if not r.assessment)

    @property
    def late_assessments(self) -> int:
        return sum(1 for r in self.red_items if r.assessment)

    @property
    def red_units(self) -> int:
        return len({r.unit_code for r in self.late_submissions})

    @property
    def red_at_coordinator(self) -> int:
        """Late submissions whose ladder has reached the coordinator (the 综治委's own list)."""
        return sum(1 for r in self.late_submissions if r.target == "coordinator")

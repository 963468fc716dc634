"""What the portal page shows for one unit: its obligations, their status today and the
files received for each. Every query is bounded by the unit named in a verified token."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, func, select

from pingan.adapters.db.campaigns import CampaignRow, GateRow, WorkdayRow
from pingan.adapters.db.links import FIRST_VERSION, PortalLinkRow, record_view
from pingan.adapters.db.obligations import ObligationRow, SubmissionFileRow, SubmissionRow
from pingan.adapters.db.units import UnitRow
from pingan.core.campaign import Campaign
from pingan.core.gates import COLOURS, STATUS_LABELS, Status, status_of
from pingan.core.links import LinkClaims
from pingan.portal.receipts import receipt_number

SOURCE_LABELS = {
    "portal": "网上报送",
    "inbox": "报送目录",
    "manifest": "集中登记",
    "mail": "电子邮件",
}


@dataclass(frozen=True)
class CampaignInfo:
    id: int
    code: str
    campaign: Campaign

    @property
    def tz(self) -> str:
        return self.campaign.timezone

    @property
    def short(self) -> str:
        return self.campaign.short_name or self.campaign.name

    @property
    def office_name(self) -> str:
        office = self.campaign.coordinator.office
        return office.name if office else self.campaign.coordinator.name

    @property
    def office_phone(self) -> str | None:
        office = self.campaign.coordinator.office
        return office.phone if office else None

    def local(self, moment: datetime) -> datetime:
        aware = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment
        return aware.astimezone(ZoneInfo(self.tz))


@dataclass(frozen=True)
class UnitRef:
    id: int
    code: str
    name: str
    kind: str
    status: str
    version: int


@dataclass(frozen=True)
class Visit:
    """A request the portal has admitted: its verified link and the unit behind it."""

    fp: str  # the token's fingerprint: the token itself is not kept
    address: str
    claims: LinkClaims
    info: CampaignInfo
    unit: UnitRef


@dataclass(frozen=True)
class FileView:
    received_at: datetime  # local time
    name: str
    sha_short: str
    size: int
    late: bool
    source: str
    receipt: str


@dataclass(frozen=True)
class ItemView:
    obligation_id: int
    gate_id: int
    gate_key: str
    gate_name: str
    deliverable: str
    evidence: str  # "files" are uploaded; "assessment" is judged on site
    opens_on: date
    due_on: date
    status: Status
    files: list[FileView]

    def accepts_upload(self, today: date) -> bool:
        """Files are taken from the opening day on, late or not, and after completion too
        (a supplement), exactly as the inbox takes them."""
        return self.evidence == "files" and today >= self.opens_on

    @property
    def colour(self) -> str:
        return COLOURS[self.status]

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.status]


def campaign_info(conn: Connection, code: str) -> CampaignInfo | None:
    row = conn.execute(
        select(CampaignRow.id, CampaignRow.config).where(CampaignRow.code == code)
    ).first()
    if row is None:
        return None
    return CampaignInfo(row.id, code, Campaign.model_validate(row.config))


def find_unit(conn: Connection, campaign_id: int, code: str) -> UnitRef | None:
    row = conn.execute(
        select(
            UnitRow.id,
            UnitRow.code,
            UnitRow.name,
            UnitRow.kind,
            UnitRow.status,
            func.coalesce(PortalLinkRow.version, FIRST_VERSION).label("version"),
        )
        .outerjoin(PortalLinkRow, PortalLinkRow.unit_id == UnitRow.id)
        .where(UnitRow.campaign_id == campaign_id, UnitRow.code == code)
    ).first()
    if row is None:
        return None
    return UnitRef(row.id, row.code, row.name, row.kind, row.status, int(row.version))


def note_view(conn: Connection, visit: Visit, now: datetime) -> None:
    """A read receipt (签收): someone of the unit opened the personal link a message
    carried. Committed at once, whatever the page does next."""
    record_view(conn, visit.info.id, visit.unit.id, now.astimezone(UTC).replace(tzinfo=None))
    conn.commit()


def unit_items(conn: Connection, info: CampaignInfo, unit_id: int, today: date) -> list[ItemView]:
    """The unit's obligations with their status as of today (by the rules of pingan.core.gates,
    so the page is right even before the day's tick) and the files received so far."""
    rows = _obligations(conn, info.id, unit_id)
    if not rows:
        return []
    ordinals = _ordinals(conn, info.id, {today, *(r.due_on for r in rows)})
    files = _files(conn, info, [r.id for r in rows])
    window = max(info.campaign.reminders.days_before)
    return [
        ItemView(
            r.id,
            r.gate_id,
            r.key,
            r.name,
            r.deliverable,
            r.evidence,
            r.opens_on,
            r.due_on,
            _status(r, today, ordinals, window),
            files.get(r.id, []),
        )
        for r in rows
    ]


def _obligations(conn: Connection, campaign_id: int, unit_id: int) -> list[Any]:
    return list(
        conn.execute(
            select(
                ObligationRow.id,
                ObligationRow.gate_id,
                GateRow.key,
                GateRow.name,
                GateRow.deliverable,
                GateRow.evidence,
                ObligationRow.opens_on,
                ObligationRow.due_on,
                ObligationRow.done_on,
                ObligationRow.waived,
                ObligationRow.status,
            )
            .join(GateRow, GateRow.id == ObligationRow.gate_id)
            .where(ObligationRow.unit_id == unit_id, ObligationRow.campaign_id == campaign_id)
            .order_by(ObligationRow.due_on, GateRow.id)
        )
    )


def _ordinals(conn: Connection, campaign_id: int, days: set[date]) -> dict[date, int]:
    """The workday ordinal of each of days the calendar table reaches."""
    return dict(
        conn.execute(
            select(WorkdayRow.day, WorkdayRow.ordinal).where(
                WorkdayRow.campaign_id == campaign_id, WorkdayRow.day.in_(sorted(days))
            )
        ).all()
    )


def _files(
    conn: Connection, info: CampaignInfo, obligation_ids: list[int]
) -> dict[int, list[FileView]]:
    """The files received for each obligation, oldest first."""
    files: dict[int, list[FileView]] = {}
    for f in conn.execute(
        select(
            SubmissionFileRow.obligation_id,
            SubmissionFileRow.original_name,
            SubmissionFileRow.sha256,
            SubmissionFileRow.size,
            SubmissionFileRow.submission_id,
            SubmissionRow.received_at,
            SubmissionRow.received_on,
            SubmissionRow.late,
            SubmissionRow.source,
        )
        .join(SubmissionRow, SubmissionRow.id == SubmissionFileRow.submission_id)
        .where(SubmissionFileRow.obligation_id.in_(obligation_ids))
        .order_by(SubmissionRow.received_at, SubmissionFileRow.id)
    ):
        files.setdefault(f.obligation_id, []).append(
            FileView(
                info.local(f.received_at),
                f.original_name,
                f.sha256[:12],
                int(f.size),
                bool(f.late),
                SOURCE_LABELS.get(f.source, f.source),
                receipt_number(f.received_on, f.submission_id, f.sha256),
            )
        )
    return files


def _status(row: Any, today: date, ordinals: dict[date, int], window: int) -> Status:
    if today in ordinals and row.due_on in ordinals:
        return status_of(
            as_of=today,
            opens_on=row.opens_on,
            due_on=row.due_on,
            done_on=row.done_on,
            waived=row.waived,
            wd_offset=ordinals[today] - ordinals[row.due_on],
            window=window,
        )
    # A day the calendar table does not reach: the last tick's word.
    status: Status = row.status
    return status


@dataclass(frozen=True)
class UploadTarget:
    gate_id: int
    gate_name: str
    deliverable: str


def upload_target(
    conn: Connection, info: CampaignInfo, unit_id: int, gate_key: str
) -> UploadTarget | None:
    """The file gate an upload names, if this unit owes it; None otherwise (another unit's
    gate, an on-site assessment, or no such gate). Whether it is open yet is intake's call."""
    row = conn.execute(
        select(GateRow.id, GateRow.name, GateRow.deliverable)
        .join(ObligationRow, ObligationRow.gate_id == GateRow.id)
        .where(
            GateRow.campaign_id == info.id,
            GateRow.key == gate_key,
            GateRow.evidence == "files",
            ObligationRow.unit_id == unit_id,
        )
    ).first()
    return None if row is None else UploadTarget(row.id, row.name, row.deliverable)

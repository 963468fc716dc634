"""Intake as a use case: the stores and limits (from the composition root) and a campaign
handle → an IntakeRun → collect."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from pingan.adapters.intake.collect import (
    AuditFor,
    FileOutcome,
    IncomingFile,
    IntakeReport,
    IntakeRun,
    collect,
    collect_file,
    collect_manifest,
)
from pingan.adapters.intake.store import QUARANTINE_KEEP_BYTES, EvidenceStore, Quarantine
from pingan.core.problems import InputError, Problem
from pingan.core.progress import Progress
from pingan.services.tick import CampaignHandle


@dataclass(frozen=True)
class IntakeStores:
    """Where evidence and refused files go, how big one file may be, and how much of a
    refused file the quarantine keeps."""

    evidence_dir: Path
    quarantine_dir: Path
    max_bytes: int
    quarantine_keep_bytes: int = QUARANTINE_KEEP_BYTES

    def quarantine(self) -> Quarantine:
        return Quarantine(self.quarantine_dir, self.quarantine_keep_bytes)


def received_at_for(as_of: date | None, tz: str) -> datetime:
    """Real intake is stamped now; a replayed day (the demo, tests) at 10:00 local time."""
    if as_of is None:
        return datetime.now(UTC)
    return datetime.combine(as_of, time(10, 0), tzinfo=ZoneInfo(tz)).astimezone(UTC)


def collect_inbox(
    engine: Engine,
    handle: CampaignHandle,
    inbox: str,
    stores: IntakeStores,
    *,
    manifest: bool = False,
    as_of: date | None = None,
    submitted_by: str | None = None,
    progress: Progress | None = None,
) -> IntakeReport:
    label = "清单文件" if manifest else "报送目录"
    # Path("") is the working directory: a blank field in the UI would collect the worker's
    # own files (and move them to .processed).
    if not inbox.strip():
        raise InputError([Problem("参数", "inbox", f"请填写{label}")])
    if "://" not in inbox and not Path(inbox).exists():
        raise InputError([Problem(inbox, "", f"{label}不存在")])
    tz = handle.campaign.timezone
    evidence = EvidenceStore(stores.evidence_dir)
    quarantine = stores.quarantine()
    # A worker killed mid-copy leaves a hidden temp file; an hour later nobody is writing it.
    evidence.sweep_temp(older_than_s=3600)
    quarantine.sweep_temp(older_than_s=3600)
    run = IntakeRun(
        engine=engine,
        campaign_id=handle.campaign_id,
        tz=tz,
        received_at=received_at_for(as_of, tz),
        evidence=evidence,
        quarantine=quarantine,
        max_bytes=stores.max_bytes,
        submitted_by=submitted_by,
        progress=progress,
    )
    if manifest:
        return collect_manifest(run, Path(inbox))
    return collect(run, inbox)


def collect_upload(
    engine: Engine,
    campaign_id: int,
    tz: str,
    *,
    unit_code: str,
    gate_id: int,
    kind: str,
    name: str,
    path: Path,
    received_at: datetime,
    stores: IntakeStores,
    submitted_by: str | None = None,
    audit: AuditFor | None = None,
) -> FileOutcome:
    """One uploaded file (already spooled to path) through the inbox's checks and writes.

    The spooled file is the upload's inbox copy: it is removed once recorded or quarantined.
    Stores are made per call: EvidenceStore counts unsynced puts and is not shared
    between the portal's threads.
    """
    upload = IncomingFile(
        kind=kind,
        unit=unit_code,
        name=name,
        opener=lambda: path.open("rb"),
        size=path.stat().st_size,
        gate_id=gate_id,
        remove=lambda: path.unlink(missing_ok=True),
    )
    run = IntakeRun(
        engine=engine,
        campaign_id=campaign_id,
        tz=tz,
        received_at=received_at,
        evidence=EvidenceStore(stores.evidence_dir),
        quarantine=stores.quarantine(),
        max_bytes=stores.max_bytes,
        source="portal",
        submitted_by=submitted_by,
        audit=audit,
    )
    return collect_file(run, upload)

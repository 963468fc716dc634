"""Composition for intake: settings → evidence store, quarantine → collect."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from pingan.adapters.intake.collect import (
    AuditFor,
    FileOutcome,
    IntakeReport,
    collect,
    collect_file,
    collect_manifest,
)
from pingan.adapters.intake.store import EvidenceStore, Quarantine
from pingan.core.problems import InputError, Problem
from pingan.core.progress import Progress
from pingan.services.tick import open_campaign
from pingan.settings import get_settings


def received_at_for(as_of: date | None, tz: str) -> datetime:
    """Real intake is stamped now; a replayed day (the demo, tests) at 10:00 local time."""
    if as_of is None:
        return datetime.now(UTC)
    return datetime.combine(as_of, time(10, 0), tzinfo=ZoneInfo(tz)).astimezone(UTC)


def collect_inbox(
    engine: Engine,
    campaign_code: str,
    inbox: str,
    *,
    manifest: bool = False,
    as_of: date | None = None,
    submitted_by: str | None = None,
    progress: Progress | None = None,
) -> IntakeReport:
    handle = open_campaign(engine, campaign_code)
    label = "清单文件" if manifest else "报送目录"
    # Path("") is the working directory: a blank field in the UI would collect the worker's
    # own files (and move them to .processed).
    if not inbox.strip():
        raise InputError([Problem("参数", "inbox", f"请填写{label}")])
    if "://" not in inbox and not Path(inbox).exists():
        raise InputError([Problem(inbox, "", f"{label}不存在")])
    settings = get_settings()
    tz = handle.campaign.timezone
    evidence = EvidenceStore(settings.resolved_evidence_dir())
    # A worker killed mid-copy leaves a hidden temp file; an hour later nobody is writing it.
    evidence.sweep_temp(older_than_s=3600)
    kwargs = {
        "evidence": evidence,
        "quarantine": Quarantine(settings.resolved_quarantine_dir()),
        "received_at": received_at_for(as_of, tz),
        "tz": tz,
        "max_bytes": settings.max_file_bytes,
        "submitted_by": submitted_by,
        "progress": progress,
    }
    if manifest:
        return collect_manifest(engine, handle.campaign_id, Path(inbox), **kwargs)  # type: ignore[arg-type]
    return collect(engine, handle.campaign_id, inbox, **kwargs)  # type: ignore[arg-type]


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
    evidence_dir: Path | None = None,
    quarantine_dir: Path | None = None,
    max_bytes: int | None = None,
    submitted_by: str | None = None,
    audit: AuditFor | None = None,
) -> FileOutcome:
    """One uploaded file (already spooled to path) through the inbox's checks and writes.

    The spooled file is the upload's inbox copy: it is removed once recorded or quarantined.
    Stores are made per call: EvidenceStore counts unsynced puts and is not shared
    between the portal's threads.
    """
    settings = get_settings()
    return collect_file(
        engine,
        campaign_id,
        kind=kind,
        unit=unit_code,
        name=name,
        opener=lambda: path.open("rb"),
        size=path.stat().st_size,
        evidence=EvidenceStore(evidence_dir or settings.resolved_evidence_dir()),
        quarantine=Quarantine(quarantine_dir or settings.resolved_quarantine_dir()),
        received_at=received_at,
        tz=tz,
        max_bytes=settings.max_file_bytes if max_bytes is None else max_bytes,
        gate_id=gate_id,
        remove=lambda: path.unlink(missing_ok=True),
        source="portal",
        submitted_by=submitted_by,
        audit=audit,
    )

"""Composition for intake: settings → evidence store, quarantine → collect."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from pingan.intake.collect import IntakeReport, collect, collect_manifest
from pingan.intake.store import EvidenceStore, Quarantine
from pingan.problems import InputError, Problem
from pingan.settings import get_settings
from pingan.ticking import open_campaign


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
) -> IntakeReport:
    handle = open_campaign(engine, campaign_code)
    if "://" not in inbox and not Path(inbox).exists():
        label = "清单文件" if manifest else "报送目录"
        raise InputError([Problem(inbox, "", f"{label}不存在")])
    settings = get_settings()
    tz = handle.campaign.timezone
    kwargs = {
        "evidence": EvidenceStore(settings.resolved_evidence_dir()),
        "quarantine": Quarantine(settings.resolved_quarantine_dir()),
        "received_at": received_at_for(as_of, tz),
        "tz": tz,
        "max_bytes": settings.max_file_bytes,
        "submitted_by": submitted_by,
    }
    if manifest:
        return collect_manifest(engine, handle.campaign_id, Path(inbox), **kwargs)  # type: ignore[arg-type]
    return collect(engine, handle.campaign_id, inbox, **kwargs)  # type: ignore[arg-type]

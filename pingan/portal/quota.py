"""The daily storage quota of each unit: how many bytes the portal may store as evidence,
and how many it may put into quarantine, per unit and campaign-local day.

The usage is counted in the portal_usage table, one row per unit and day, updated in one
statement per upload, so several portal processes share it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import Connection, Engine, select
from sqlalchemy.dialects import postgresql, sqlite

from pingan.adapters.db.portal_usage import PortalUsageRow

MIB = 1024 * 1024


@dataclass(frozen=True)
class Quota:
    """Bytes per unit and day; 0 means no limit."""

    stored_bytes_per_day: int = 200 * MIB
    quarantined_bytes_per_day: int = 40 * MIB


@dataclass(frozen=True)
class Usage:
    stored_bytes: int = 0
    quarantined_bytes: int = 0


@dataclass(frozen=True)
class Charge:
    """Whose day an upload is counted on."""

    campaign_id: int
    unit_id: int
    day: date


def usage(conn: Connection, unit_id: int, day: date) -> Usage:
    row = conn.execute(
        select(PortalUsageRow.stored_bytes, PortalUsageRow.quarantined_bytes).where(
            PortalUsageRow.unit_id == unit_id, PortalUsageRow.day == day
        )
    ).first()
    return Usage() if row is None else Usage(int(row.stored_bytes), int(row.quarantined_bytes))


def exceeded(quota: Quota, used: Usage, incoming: int = 0) -> str | None:
    """Which budget an upload of incoming bytes would pass ("stored" or "quarantined"),
    or None. Any upload may end in quarantine, so a spent quarantine budget stops them all."""
    q = quota.quarantined_bytes_per_day
    if q and used.quarantined_bytes >= q:
        return "quarantined"
    s = quota.stored_bytes_per_day
    if s and used.stored_bytes + incoming > s:
        return "stored"
    return None


def charge(engine: Engine, at: Charge, *, stored: int = 0, quarantined: int = 0) -> None:
    """Add to the day's usage: one upsert (pingan runs on SQLite and PostgreSQL)."""
    if not stored and not quarantined:
        return
    row = PortalUsageRow
    insert = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert
    statement = insert(row).values(
        unit_id=at.unit_id,
        day=at.day,
        campaign_id=at.campaign_id,
        stored_bytes=stored,
        quarantined_bytes=quarantined,
    )
    statement = statement.on_conflict_do_update(
        index_elements=["unit_id", "day"],
        set_={
            "stored_bytes": row.stored_bytes + stored,
            "quarantined_bytes": row.quarantined_bytes + quarantined,
        },
    )
    with engine.begin() as conn:
        conn.execute(statement)

"""Database side of personal links: current token versions, listing and revocation."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine, func, insert, select, update
from sqlalchemy.orm import Session

from pingan.adapters.db.audit import AuditEventRow
from pingan.adapters.db.links import FIRST_VERSION, PortalLinkRow
from pingan.adapters.db.obligations import ObligationRow, SubmissionRow
from pingan.adapters.db.units import UnitRow
from pingan.core.links import PortalSettings, personal_link
from pingan.core.problems import InputError, Problem


def link_versions(db: Session | Connection, unit_ids: Iterable[int]) -> dict[int, int]:
    """Current token version of each unit (FIRST_VERSION for a unit never revoked)."""
    ids = sorted(set(unit_ids))
    versions = dict.fromkeys(ids, FIRST_VERSION)
    for i in range(0, len(ids), 5000):  # an award run asks for 90,000 units at once
        versions.update(
            (uid, v)
            for uid, v in db.execute(
                select(PortalLinkRow.unit_id, PortalLinkRow.version).where(
                    PortalLinkRow.unit_id.in_(ids[i : i + 5000])
                )
            )
        )
    return versions


@dataclass(frozen=True)
class LinkListing:
    code: str
    name: str
    kind: str
    status: str
    version: int
    revoked_at: datetime | None
    revoked_by: str | None
    portal_uploads: int
    last_upload_at: datetime | None
    link: str | None
    expires_at: datetime | None

    def as_json(self, tz: str) -> dict[str, object]:
        """The listing as JSON, every time in the campaign's time zone ``tz`` (with offset)."""
        zone = ZoneInfo(tz)

        def iso(d: datetime | None) -> str | None:
            if d is None:
                return None
            aware = d.replace(tzinfo=UTC) if d.tzinfo is None else d
            return aware.astimezone(zone).isoformat(timespec="seconds")

        return {
            "unit": self.code,
            "name": self.name,
            "kind": self.kind,
            "status": self.status,
            "version": self.version,
            "revoked_at": iso(self.revoked_at),
            "revoked_by": self.revoked_by,
            "portal_uploads": self.portal_uploads,
            "last_upload_at": iso(self.last_upload_at),
            "link": self.link,
            "expires_at": iso(self.expires_at),
        }


def _units(conn: Connection, campaign_id: int, codes: Sequence[str] | None) -> list[Any]:
    query = (
        select(
            UnitRow.id,
            UnitRow.code,
            UnitRow.name,
            UnitRow.kind,
            UnitRow.status,
            func.coalesce(PortalLinkRow.version, FIRST_VERSION).label("version"),
            PortalLinkRow.revoked_at,
            PortalLinkRow.revoked_by,
        )
        .outerjoin(PortalLinkRow, PortalLinkRow.unit_id == UnitRow.id)
        .where(UnitRow.campaign_id == campaign_id)
        .order_by(UnitRow.code)
    )
    if codes is not None:
        query = query.where(UnitRow.code.in_(sorted(set(codes))))
    rows = list(conn.execute(query))
    if codes is not None:
        found = {r.code for r in rows}
        missing = [c for c in dict.fromkeys(codes) if c not in found]
        if missing:
            raise InputError(
                [Problem("参数", "--unit", f"单位编码 {c} 不在本创建活动中") for c in missing]
            )
    return rows


def list_links(
    engine: Engine,
    campaign_id: int,
    campaign_code: str,
    settings: PortalSettings,
    now: datetime,
    *,
    unit_codes: Sequence[str] | None = None,
) -> list[LinkListing]:
    """Every unit (or the named ones) with its link state; link is None unless the portal's
    base URL and secret are configured. Raises InputError for an unknown unit code."""
    with engine.connect() as conn:
        rows = _units(conn, campaign_id, unit_codes)
        uploads = {
            uid: (int(n), last)
            for uid, n, last in conn.execute(
                select(ObligationRow.unit_id, func.count(), func.max(SubmissionRow.received_at))
                .join(ObligationRow, ObligationRow.id == SubmissionRow.obligation_id)
                .where(SubmissionRow.campaign_id == campaign_id, SubmissionRow.source == "portal")
                .group_by(ObligationRow.unit_id)
            )
        }
    out: list[LinkListing] = []
    expires = now.astimezone(UTC) + timedelta(days=settings.portal_link_days)
    for r in rows:
        link = personal_link(campaign_code, r.code, r.version, now, settings)
        n, last = uploads.get(r.id, (0, None))
        out.append(
            LinkListing(
                r.code,
                r.name,
                r.kind,
                r.status,
                r.version,
                r.revoked_at,
                r.revoked_by,
                n,
                last,
                link,
                expires if link else None,
            )
        )
    return out


def revoke_links(
    engine: Engine, campaign_id: int, unit_codes: Sequence[str], *, actor: str, now: datetime
) -> dict[str, int]:
    """Revoke every link so far issued to these units: {code: new version}. Audited per unit.

    Raises InputError (nothing written) if any code is unknown.
    """
    if not unit_codes:
        raise InputError([Problem("参数", "--unit", "请用 --unit 指明要作废链接的单位")])
    at = now.astimezone(UTC).replace(tzinfo=None)
    with engine.begin() as conn:
        rows = _units(conn, campaign_id, unit_codes)
        existing = set(
            conn.execute(
                select(PortalLinkRow.unit_id).where(PortalLinkRow.unit_id.in_([r.id for r in rows]))
            ).scalars()
        )
        result: dict[str, int] = {}
        for r in rows:
            uid, code, version = r.id, r.code, int(r.version)
            new = version + 1
            values = {"version": new, "revoked_at": at, "revoked_by": actor[:100]}
            if uid in existing:
                conn.execute(
                    update(PortalLinkRow)
                    .where(PortalLinkRow.unit_id == uid, PortalLinkRow.version == version)
                    .values(**values)
                )
            else:
                conn.execute(
                    insert(PortalLinkRow).values(unit_id=uid, campaign_id=campaign_id, **values)
                )
            result[code] = new
        _audit_revocations(conn, campaign_id, result, actor=actor, at=at)
    return result


def _audit_revocations(
    conn: Connection, campaign_id: int, versions: dict[str, int], *, actor: str, at: datetime
) -> None:
    """One audit row per unit: its link version before and after."""
    conn.execute(
        insert(AuditEventRow),
        [
            {
                "campaign_id": campaign_id,
                "at": at,
                "actor": actor[:100],
                "action": "portal.revoke",
                "entity": "unit",
                "entity_id": code,
                "before": {"version": version - 1},
                "after": {"version": version},
            }
            for code, version in versions.items()
        ],
    )

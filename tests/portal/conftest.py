"""Portal fixtures: the seed campaign in a database (SQLite and PostgreSQL), a portal app
on a replayable clock, and helpers to sign links and read what was recorded."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from pingan.core.links import LinkClaims, sign
from pingan.portal.app import create_app
from pingan.portal.config import PortalConfig
from pingan.portal.ratelimit import Rate
from tests.factories import SEED_CODE, Loaded, load_seed

SHANGHAI = ZoneInfo("Asia/Shanghai")
SECRET = "test-portal-secret-0123456789abcdef-xyz"
MAX_BYTES = 256 * 1024
# self-check opens 2017-05-16 and is due 2017-10-31.
IN_SELF_CHECK = datetime(2017, 6, 1, 10, 0, tzinfo=SHANGHAI)


def pdf(text: str = "自查报告") -> bytes:
    return b"%PDF-1.4\n%" + text.encode() + b"\n%%EOF\n"


@dataclass
class Clock:
    now: datetime
    mono: float = 1000.0

    def wall(self) -> datetime:
        return self.now

    def monotonic(self) -> float:
        return self.mono


@dataclass
class Portal:
    seed: Loaded
    root: Path
    clock: Clock
    app: FastAPI
    client: TestClient
    limits: dict[str, Rate] = field(default_factory=dict)

    @property
    def engine(self) -> Engine:
        return self.seed.engine

    def cell(self, index: int = 0) -> str:
        """The code of an active cell (every cell owes the self-check report)."""
        codes = [
            r.code
            for r in self.seed.rows(
                "SELECT code FROM unit WHERE campaign_id = :c AND kind = 'cell' ORDER BY code"
            )
        ]
        return codes[index]

    def token(
        self,
        unit: str,
        *,
        version: int = 1,
        expires: datetime | None = None,
        secret: str = SECRET,
        campaign: str = SEED_CODE,
    ) -> str:
        expires = expires or self.clock.now + timedelta(days=60)
        return sign(LinkClaims(campaign, unit, version, expires), secret)

    def url(self, unit: str, **kwargs: Any) -> str:
        return f"/u/{self.token(unit, **kwargs)}"

    def upload(
        self,
        url: str,
        data: bytes,
        *,
        name: str = "自查报告.pdf",
        gate: str = "self-check",
        submitted_by: str | None = None,
    ) -> Any:
        fields = {"gate": gate}
        if submitted_by is not None:
            fields["submitted_by"] = submitted_by
        return self.client.post(url, data=fields, files={"file": (name, data, "application/pdf")})

    def audit(self, action: str | None = None) -> list[dict[str, Any]]:
        rows = self.seed.rows(
            "SELECT action, entity, entity_id, campaign_id, after FROM audit_event "
            "WHERE actor = 'portal' ORDER BY id"
        )
        out = []
        for r in rows:
            after = r.after if isinstance(r.after, dict) else json.loads(r.after)
            if action is None or r.action == action:
                out.append(
                    {
                        "action": r.action,
                        "entity": r.entity,
                        "entity_id": r.entity_id,
                        "campaign_id": r.campaign_id,
                        **after,
                    }
                )
        return out

    def files(self, unit: str) -> list[Any]:
        return self.seed.rows(
            "SELECT f.original_name, f.sha256, s.source, s.late, s.submitted_by "
            "FROM submission_file f JOIN submission s ON s.id = f.submission_id "
            "JOIN obligation o ON o.id = f.obligation_id JOIN unit u ON u.id = o.unit_id "
            "WHERE u.code = :u ORDER BY f.id",
            u=unit,
        )

    def spool_left(self) -> list[Path]:
        spool = self.root / "spool"
        return sorted(spool.iterdir()) if spool.is_dir() else []


def make_portal(
    seed: Loaded, root: Path, clock: Clock, *, max_bytes: int = MAX_BYTES, **options: Any
) -> Portal:
    """A portal app over seed; options are further PortalConfig fields (rates, quota…)."""
    config = PortalConfig(
        secret=SECRET,
        evidence_dir=root / "evidence",
        quarantine_dir=root / "quarantine",
        spool_dir=root / "spool",
        max_file_bytes=max_bytes,
        clock=clock.wall,
        monotonic=clock.monotonic,
        **options,
    )
    app = create_app(seed.engine, config)
    limits = {k: v for k, v in options.items() if isinstance(v, Rate)}
    return Portal(seed, root, clock, app, TestClient(app), limits)


@pytest.fixture
def seeded(engine: Engine, tmp_path: Path) -> Loaded:
    return load_seed(engine, tmp_path, cells=12)


@pytest.fixture
def portal(seeded: Loaded, tmp_path: Path) -> Iterator[Portal]:
    p = make_portal(seeded, tmp_path, Clock(IN_SELF_CHECK))
    with p.client:
        yield p

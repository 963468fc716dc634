"""Short-link fixtures: the seed campaign (SQLite and PostgreSQL), portal settings that
mint short links, and the portal app over the same database on a replayable clock."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from pingan.adapters.db.short_links import short_links
from pingan.core.short_links import ShortLinkRequest
from pingan.root import Settings
from tests.factories import Loaded, load_seed
from tests.portal.conftest import IN_SELF_CHECK, SECRET, Clock, Portal, make_portal

BASE = "https://pa.example.cn/"


def portal_settings(**overrides: object) -> Settings:
    values: dict[str, object] = {
        "portal_base_url": BASE,
        "portal_secret": SecretStr(SECRET),
        "portal_link_days": 60,
        **overrides,
    }
    return Settings.model_validate(values)


def mint_one(seed: Loaded, unit: str, moment: datetime = IN_SELF_CHECK, version: int = 1) -> str:
    """The short URL of one unit's link, minted and committed."""
    with Session(seed.engine) as session, session.begin():
        url = short_links(
            session,
            seed.handle.campaign,
            portal_settings(),
            {"x": ShortLinkRequest(unit, version, moment)},
        )["x"]
    assert url is not None
    return url


def cells(seed: Loaded) -> list[str]:
    return [
        r.code
        for r in seed.rows(
            "SELECT code FROM unit WHERE campaign_id = :c AND kind = 'cell' ORDER BY code"
        )
    ]


@pytest.fixture
def seeded(engine: Engine, tmp_path: Path) -> Loaded:
    return load_seed(engine, tmp_path, cells=6)


@pytest.fixture
def portal(seeded: Loaded, tmp_path: Path) -> Iterator[Portal]:
    p = make_portal(seeded, tmp_path, Clock(IN_SELF_CHECK))
    with p.client:
        yield p

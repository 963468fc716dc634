"""The seed campaign with two approvers named, in a database (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine

from pingan.adapters.db.session import make_engine
from pingan.services.load import load
from pingan.services.tick import open_campaign
from tests.awarding_helpers import cells_by_domain, score_cells
from tests.factories import SEED_CODE, SEED_CONFIG, Loaded, synth_roster

SECRET = "test-portal-secret-0123456789abcdef-xyz"
BASE_URL = "https://pa.example.cn"
AS_OF = date(2017, 11, 18)
APPROVERS = """
acceptance:
  approvers:
    - name: 王主任
      role: 街道综治委主任
      mobile: "13800000001"
      email: wang@example.cn
    - name: 李副主任
      email: li@example.cn
"""


def approvers_config(directory: Path, extra: str = APPROVERS) -> Path:
    """A copy of the seed's YAML with ``extra`` appended (calendars beside it, empty)."""
    (directory / "calendars").mkdir(parents=True, exist_ok=True)
    (directory / "campaigns").mkdir(exist_ok=True)
    path = directory / "campaigns" / "xucheng-2017.yaml"
    path.write_text(SEED_CONFIG.read_text(encoding="utf-8") + extra, encoding="utf-8")
    return path


@dataclass
class Scored:
    seed: Loaded
    by: dict[str, list[str]]  # cell codes by domain

    @property
    def engine(self) -> Engine:
        return self.seed.engine


def load_scored(engine: Engine, directory: Path) -> Scored:
    """40 cells, approvers named; campus: one passed, one vetoed; family: three passed."""
    roster = synth_roster(directory, 40)
    load(engine, approvers_config(directory), roster, actor="test")
    seed = Loaded(engine, open_campaign(engine, SEED_CODE), roster)
    by = cells_by_domain(engine, seed.handle)
    score_cells(engine, seed.handle, {by["campus"][0]: "pass", by["campus"][1]: "veto"})
    score_cells(engine, seed.handle, {c: "pass" for c in by["family"][:3]})
    return Scored(seed, by)


@pytest.fixture
def scored(db_url: str, tmp_path: Path) -> Iterator[Scored]:
    engine = make_engine(db_url)
    yield load_scored(engine, tmp_path)
    engine.dispose()

"""An awarded campaign for the verification and leader tests: the seed with three cells
passed (two in one domain), signed off and awarded, and a portal app over it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from pingan import root
from pingan.core.acceptance import SignOffRequest
from pingan.core.awards import AwardListing
from pingan.services import acceptance
from pingan.services import award as awarding
from tests.awarding_helpers import cells_by_domain, score_cells
from tests.factories import Loaded, load_seed
from tests.portal.conftest import SHANGHAI, Clock, Portal, make_portal

AS_OF = date(2017, 11, 19)
AFTER_AWARDS = datetime(2017, 12, 1, 10, 0, tzinfo=SHANGHAI)
AWARD_SECRET = "verify-test-award-key"


@dataclass
class Awarded:
    seed: Loaded
    awards: list[AwardListing]

    @property
    def engine(self) -> Engine:
        return self.seed.engine

    def award(self, index: int = 0) -> AwardListing:
        return self.awards[index]


def award_some(seed: Loaded) -> list[AwardListing]:
    """Pass two campus cells and one other, fail one, sign off and award: the listing."""
    by = cells_by_domain(seed.engine, seed.handle)
    other = next(k for k in by if k != "campus")
    outcomes = {by["campus"][0]: "pass", by["campus"][1]: "pass", by[other][0]: "pass"}
    outcomes[by["campus"][2]] = "fail"
    score_cells(seed.engine, seed.handle, outcomes)
    request = SignOffRequest("王主任", True, "同意", {})
    acceptance.sign_off(seed.engine, seed.handle, request, actor="test", source="test")
    key = root.container().award_key()
    awarding.grant(seed.engine, seed.handle, key=key, as_of=AS_OF, actor="test", notify=False)
    return awarding.listing(seed.engine, seed.handle)


@pytest.fixture
def to_award(engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Loaded]:
    """The seed with 30 cells, its award key set; nothing assessed yet."""
    monkeypatch.setenv("PINGAN_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("PINGAN_AWARD_SECRET", AWARD_SECRET)
    root.reset()
    try:
        yield load_seed(engine, tmp_path, cells=30)
    finally:
        root.reset()


@pytest.fixture
def awarded(to_award: Loaded) -> Awarded:
    return Awarded(to_award, award_some(to_award))


def verify_portal(awarded: Awarded, tmp_path: Path, **options: Any) -> Portal:
    return make_portal(awarded.seed, tmp_path, Clock(AFTER_AWARDS), **options)

"""Fixtures shared by the crash and concurrency tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.robustness._harness import Databases, Robot


@pytest.fixture
def robot() -> Iterator[Robot]:
    r = Robot()
    yield r
    r.close()


@pytest.fixture
def databases(db_url: str, tmp_path: Path) -> Iterator[Databases]:
    dbs = Databases(db_url, tmp_path)
    yield dbs
    dbs.close()

"""The flows run in-process against the process's Prefect test server (tests/conftest.py)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")


@pytest.fixture(scope="session", autouse=True)
def prefect_server(prefect_test_server: None) -> None:
    """Every test here runs against the process's Prefect test server (tests/conftest.py)."""


@pytest.fixture
def pingan_env(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Point the tasks' settings (database, evidence, quarantine) at this test's places."""
    from pingan import root

    monkeypatch.setenv("PINGAN_DATABASE_URL", db_url)
    monkeypatch.setenv("PINGAN_HOME", str(tmp_path / "home"))
    root.reset()
    yield db_url
    root.reset()

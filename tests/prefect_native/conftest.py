"""Fixtures of the Prefect-native tests: a test Prefect server for the in-process flow
tests that ask for it (the deployed-run tests start a real one of their own)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")


@pytest.fixture(scope="session")
def prefect_harness(prefect_test_server: None) -> None:
    """The process's Prefect test server (tests/conftest.py), for the tests that ask."""


@pytest.fixture
def pingan_env(
    prefect_harness: None, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    from pingan import root

    monkeypatch.setenv("PINGAN_DATABASE_URL", db_url)
    monkeypatch.setenv("PINGAN_HOME", str(tmp_path / "home"))
    root.reset()
    yield db_url
    root.reset()

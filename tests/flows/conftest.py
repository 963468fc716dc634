"""The flows run in-process against the process's Prefect test server (tests/conftest.py)."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")


@pytest.fixture(scope="session", autouse=True)
def prefect_server(prefect_test_server: None) -> None:
    """Every test here runs against the process's Prefect test server (tests/conftest.py)."""

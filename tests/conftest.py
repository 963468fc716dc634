"""Shared fixtures: every database test runs on SQLite and, when configured, on PostgreSQL;
no CLI output anywhere in the suite may carry a traceback."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text

from pingan.adapters.db.session import make_engine
from tests._no_traceback import MARKER_HELP, no_traceback_check

ROOT = Path(__file__).resolve().parent.parent
SEED_CONFIG = ROOT / "config" / "campaigns" / "xucheng-2017.yaml"
PG_URL = os.environ.get("PINGAN_TEST_DATABASE_URL")
PG_SKIP_REASON = (
    "PostgreSQL 部分已跳过：未设置 PINGAN_TEST_DATABASE_URL "
    "(例如 postgresql+psycopg://postgres@127.0.0.1:5432/test；.ci/run 会设置)"
)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", MARKER_HELP)


@pytest.fixture(autouse=True)
def _cli_outputs_carry_no_traceback(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No CLI output in the suite may show a traceback (tests/_no_traceback.py)."""
    no_traceback_check(request, monkeypatch)


@pytest.fixture(autouse=True)
def _umask_restored() -> Iterator[None]:
    """A CLI run in this process narrows the umask (pingan.adapters.private); later tests'
    fixtures (the Dovecot server's files) need the umask they started with."""
    before = os.umask(0o022)
    os.umask(before)
    yield
    os.umask(before)


def pytest_report_header(config: pytest.Config) -> str:
    state = f"ON: {PG_URL}" if PG_URL else "SKIPPED (no PINGAN_TEST_DATABASE_URL)"
    return f"pingan: PostgreSQL tests {state}"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database URL on an empty database: a SQLite file, or a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'pingan.db'}"
        return
    if not PG_URL:
        pytest.skip(PG_SKIP_REASON)
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in PG_URL else "?"
    try:
        yield f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


@pytest.fixture
def seed_config() -> Path:
    return SEED_CONFIG


@pytest.fixture(scope="session")
def prefect_test_server() -> Iterator[None]:
    """One Prefect test server per test process (it takes ~10 s to start), for every test
    that runs flows in-process. One, not one per folder: Prefect's events worker keeps
    sending to the server that was current when it started, so a second harness entered
    later in the same process would never see its task runs (pytest-xdist runs the
    folders' files in any order)."""
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings
    from prefect.testing.utilities import prefect_test_harness

    # Without this each sync flow call waits about a second for the heartbeat thread.
    with (
        prefect_test_harness(server_startup_timeout=120),
        temporary_settings({PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}),
    ):
        yield


@pytest.fixture
def pingan_env(
    prefect_test_server: None, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """For a test that runs flows in-process: the Prefect test server, and the tasks'
    settings (database, evidence, quarantine) pointed at this test's places."""
    from pingan import root

    monkeypatch.setenv("PINGAN_DATABASE_URL", db_url)
    monkeypatch.setenv("PINGAN_HOME", str(tmp_path / "home"))
    root.reset()
    yield db_url
    root.reset()

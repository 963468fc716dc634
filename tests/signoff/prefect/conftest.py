"""A Prefect test server (shared with tests/flows) and the acceptance run driven as the UI
and the phone page drive it."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.sorting import FlowRunSort

import flows.acceptance
from pingan.adapters.db.session import make_engine
from tests.flows.conftest import prefect_server
from tests.signoff.conftest import BASE_URL, SECRET, Scored, load_scored

__all__ = ["prefect_server"]


@pytest.fixture
def waiting(pingan_env: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Scored]:
    """The scored seed with approvers; the flow's settings sign phone links."""
    from pingan import root

    monkeypatch.setattr(flows.acceptance, "POLL_S", 1)
    monkeypatch.setenv("PINGAN_AWARD_SECRET", "flow-test-key")
    monkeypatch.setenv("PINGAN_PORTAL_BASE_URL", BASE_URL)
    monkeypatch.setenv("PINGAN_PORTAL_SECRET", SECRET)
    root.reset()
    engine = make_engine(pingan_env)
    yield load_scored(engine, tmp_path)
    engine.dispose()


def run_in_thread(fn: Callable[[], Any]) -> tuple[threading.Thread, dict[str, Any]]:
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["result"] = fn()
        except BaseException as exc:  # reported by the test, not lost in the thread
            box["error"] = exc

    t = threading.Thread(target=target, daemon=True)
    t.start()
    return t, box


def run_ids() -> set[UUID]:
    with get_client(sync_client=True) as client:
        return {r.id for r in client.read_flow_runs(limit=200)}


def wait_paused(since: set[UUID], key: str | None = None, timeout: float = 60) -> UUID:
    """The new run once it is paused (at the pause ``key``, when given)."""
    deadline = time.monotonic() + timeout
    with get_client(sync_client=True) as client:
        while time.monotonic() < deadline:
            for run in client.read_flow_runs(sort=FlowRunSort.START_TIME_DESC, limit=5):
                paused = run.id not in since and run.state and run.state.is_paused()
                if paused and (key is None or run.state.state_details.pause_key == key):  # type: ignore[union-attr]
                    return run.id
            time.sleep(0.3)
    raise AssertionError(f"the acceptance flow never paused at {key}")


def pause_description(run_id: UUID, key: str) -> str:
    with get_client(sync_client=True) as client:
        value = client.read_flow_run_input(flow_run_id=run_id, key=f"paused-{key}-description")
    return str(json.loads(value))


def now() -> datetime:
    return datetime.now(UTC)

"""Progress artifacts for long steps: created lazily, updated, never for tiny work."""

from __future__ import annotations

from prefect import flow
from prefect.client.orchestration import get_client

from tasks.progress import MIN_ITEMS, progress_artifact


def _artifacts(key: str) -> list[object]:
    with get_client(sync_client=True) as client:
        return [a for a in client.read_artifacts() if a.key == key]


def test_a_long_step_publishes_its_progress_up_to_100_percent() -> None:
    @flow
    def long_step() -> None:
        update = progress_artifact("pingan-test-long-progress", "测试进度")
        for done in range(0, 2001, 250):
            update(done, 2000)

    long_step()
    [artifact] = _artifacts("pingan-test-long-progress")
    assert artifact.type == "progress" and float(artifact.data) == 100.0  # type: ignore[attr-defined]


def test_a_small_step_publishes_nothing() -> None:
    @flow
    def small_step() -> None:
        update = progress_artifact("pingan-test-small-progress", "测试进度")
        update(0, MIN_ITEMS - 1)
        update(MIN_ITEMS - 1, MIN_ITEMS - 1)

    small_step()
    assert _artifacts("pingan-test-small-progress") == []

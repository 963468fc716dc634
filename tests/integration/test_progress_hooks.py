"""Long work reports progress to whoever watches (a CLI bar, a Prefect artifact)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine

from pingan.services.load import LOAD_STEPS, load
from tests.factories import SEED_CONFIG, synth_roster


def test_load_reports_every_step_and_ends_complete(engine: Engine, tmp_path: Path) -> None:
    calls: list[tuple[int, int]] = []
    load(
        engine, SEED_CONFIG, synth_roster(tmp_path, 30), progress=lambda d, t: calls.append((d, t))
    )
    assert calls[0] == (0, LOAD_STEPS) and calls[-1] == (LOAD_STEPS, LOAD_STEPS)
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)

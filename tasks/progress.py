"""Progress artifacts for long steps, shown on the flow run's page in the Prefect UI."""

from __future__ import annotations

import time

from prefect.artifacts import create_progress_artifact, update_progress_artifact

from pingan.core.campaign import artifact_slug
from pingan.core.progress import Progress

# Below this much work a step is over before anyone could look at a bar: no API calls.
MIN_ITEMS = 500
EVERY_S = 2.0


def progress_artifact(key: str, description: str) -> Progress:
    """A callback for pingan's ``progress(done, total)`` that creates the artifact lazily and
    updates it at most every EVERY_S seconds (and at the end)."""
    state: dict[str, object] = {"id": None, "at": 0.0}

    def update(done: int, total: int) -> None:
        if total < MIN_ITEMS:
            return
        pct = min(100.0, 100.0 * done / total) if total else 100.0
        now = time.monotonic()
        if state["id"] is None:
            state["id"] = create_progress_artifact(
                progress=pct, key=artifact_slug(key), description=description
            )
            state["at"] = now
        elif pct >= 100.0 or now - float(state["at"]) >= EVERY_S:  # type: ignore[arg-type]
            update_progress_artifact(state["id"], progress=pct)  # type: ignore[arg-type]
            state["at"] = now

    return update

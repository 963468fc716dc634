"""The demo's coordinator: waits for the acceptance run to pause, then signs it off through
the Prefect API exactly as the UI's Resume form would."""

from __future__ import annotations

import threading
import time
from typing import Any


def resume_when_paused(run_input: dict[str, Any], timeout_s: float = 120) -> threading.Thread:
    """Play the coordinator: wait for the acceptance run to pause, then sign it off."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        FlowFilter,
        FlowFilterName,
        FlowRunFilter,
        FlowRunFilterState,
        FlowRunFilterStateType,
    )
    from prefect.client.schemas.objects import StateType
    from prefect.client.schemas.sorting import FlowRunSort
    from prefect.flow_runs import resume_flow_run

    # Only paused runs, newest first: a Prefect home that kept earlier demos' runs must not
    # hide this one behind them.
    paused = FlowRunFilter(
        state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.PAUSED]))
    )

    def sign() -> None:
        deadline = time.monotonic() + timeout_s
        with get_client(sync_client=True) as client:
            while time.monotonic() < deadline:
                runs = client.read_flow_runs(
                    flow_filter=FlowFilter(name=FlowFilterName(any_=["pingan-acceptance"])),
                    flow_run_filter=paused,
                    sort=FlowRunSort.START_TIME_DESC,
                    limit=1,
                )
                if runs:
                    resume_flow_run(runs[0].id, run_input=run_input)
                    return
                time.sleep(0.3)

    t = threading.Thread(target=sign, name="demo-coordinator", daemon=True)
    t.start()
    return t

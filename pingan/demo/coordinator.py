"""The demo's coordinator: waits for the acceptance run to pause, then signs it off through
the Prefect API exactly as the UI's Resume form would."""

from __future__ import annotations

import threading
import time
from typing import Any


def resume_when_paused(run_input: dict[str, Any], timeout_s: float = 120) -> threading.Thread:
    """Play the coordinator: wait for the acceptance run to pause, then sign it off."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowFilter, FlowFilterName
    from prefect.flow_runs import resume_flow_run

    def sign() -> None:
        deadline = time.monotonic() + timeout_s
        with get_client(sync_client=True) as client:
            while time.monotonic() < deadline:
                runs = client.read_flow_runs(
                    flow_filter=FlowFilter(name=FlowFilterName(any_=["pingan-acceptance"])),
                    limit=5,
                )
                for run in runs:
                    if run.state is not None and run.state.is_paused():
                        resume_flow_run(run.id, run_input=run_input)
                        return
                time.sleep(0.3)

    t = threading.Thread(target=sign, name="demo-coordinator", daemon=True)
    t.start()
    return t

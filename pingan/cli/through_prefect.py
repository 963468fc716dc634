"""CLI commands as Prefect flow runs: when PREFECT_API_URL is set, `pingan tick`, `collect`,
`dispatch`, `report` and `award` call the same flows the deployments run, so the Prefect
UI's history holds the work done from a terminal too. Without it they run the same services
directly and say that no run was recorded.

Prefect's own console lines (English, and a traceback for a failed run) are silenced for the
call: the run's logs still go to the server, and the command prints its own Chinese lines.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from pingan.cli.common import err

NOT_RECORDED = (
    "（未设置 PREFECT_API_URL：本次直接运行，未记入 Prefect 运行历史；"
    "设置后 pingan tick/collect/dispatch/report/award 以流程运行的方式执行）"
)


def api_url() -> str | None:
    value = os.environ.get("PREFECT_API_URL", "").strip()
    return value or None


def say_not_recorded(as_json: bool) -> None:
    if not as_json:
        err.print(NOT_RECORDED, style="dim", markup=False, soft_wrap=True)


@dataclass(frozen=True)
class FlowRun:
    name: str
    id: str
    output: Any

    def ref(self) -> dict[str, str]:
        """The run as the commands' JSON output names it (``"flow_run"``)."""
        return {"name": self.name, "id": self.id}


@contextmanager
def _database(db: str | None) -> Iterator[None]:
    """The flow's tasks read the settings: ``--db`` becomes PINGAN_DATABASE_URL for the run."""
    from pingan import root

    before = os.environ.get("PINGAN_DATABASE_URL")
    if db:
        os.environ["PINGAN_DATABASE_URL"] = db
        root.reset()
    try:
        yield
    finally:
        if db:
            if before is None:
                os.environ.pop("PINGAN_DATABASE_URL", None)
            else:
                os.environ["PINGAN_DATABASE_URL"] = before
            root.reset()


@contextmanager
def _quiet_prefect_console() -> Iterator[None]:
    from prefect.logging.handlers import PrefectConsoleHandler

    handlers = [
        h
        for name in ("", "prefect", "prefect.flow_runs", "prefect.task_runs")
        for h in logging.getLogger(name).handlers
        if isinstance(h, PrefectConsoleHandler)
    ]
    levels = [h.level for h in handlers]
    for h in handlers:
        h.setLevel(logging.CRITICAL + 1)
    try:
        yield
    finally:
        for h, level in zip(handlers, levels, strict=True):
            h.setLevel(level)


def run_flow(flow: Callable[..., Any], db: str | None, **parameters: Any) -> FlowRun:
    """Call ``flow`` as a flow run on the server; its output, or the exception it failed
    with (an InputError reaches the CLI's usual one-line-per-problem handling)."""
    with _database(db), _quiet_prefect_console():
        state = flow(**parameters, return_state=True)
    details = state.state_details
    run_id = str(details.flow_run_id) if details.flow_run_id else ""
    name = _run_name(run_id)
    if not state.is_completed():
        result = state.result(raise_on_failure=False)
        if isinstance(result, BaseException):
            raise result
        raise RuntimeError(f"流程运行 {name} 未完成：{state.name} {state.message or ''}")
    return FlowRun(name, run_id, state.result())


def _run_name(run_id: str) -> str:
    if not run_id:
        return ""
    from uuid import UUID

    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        return str(client.read_flow_run(UUID(run_id)).name)


def recorded_line(run: FlowRun) -> str:
    return f"已记入 Prefect 运行历史：流程运行“{run.name}”（{run.id}）"


def flow_run_json(run: FlowRun | None) -> dict[str, str] | None:
    """The ``"flow_run"`` value of a command's JSON output: null when nothing was recorded."""
    return None if run is None else run.ref()


def say_where(run: FlowRun | None, as_json: bool) -> None:
    """After a command's own lines (on stderr, so --json keeps stdout clean): the flow run
    that recorded the work, or that nothing was recorded."""
    if run is None:
        say_not_recorded(as_json)
    elif not as_json:
        err.print(recorded_line(run), markup=False, soft_wrap=True)

"""What every pingan flow and task shares: time limits, which failures are worth a retry,
and readable run names.

Retrying bad input only repeats its traceback: a campaign code that names nothing, a year
the working calendar does not know, a malformed waiver fail the same way the next time.
Only failures that may pass (a locked database, a network hiccup) are retried.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from pydantic import ValidationError

from pingan.core.calendar import CalendarError
from pingan.core.problems import InputError

# A task is one service call over a whole campaign (set-based SQL): minutes at a million
# cells. An hour means something hangs; the flow's limit bounds a whole tick or report.
TASK_TIMEOUT_S = 3600.0
FLOW_TIMEOUT_S = 4 * 3600.0
# Dispatch may wait for rate-limit windows (wait_up_to_s ≤ 3600) on top of sending.
DISPATCH_TIMEOUT_S = 2 * 3600.0

NOT_RETRIED: tuple[type[BaseException], ...] = (InputError, ValidationError, CalendarError)


def is_input_error(exc: BaseException | None) -> bool:
    return isinstance(exc, NOT_RETRIED)


def retry_unless_input_error(task: Any, task_run: Any, state: Any) -> bool:
    """Prefect's ``retry_condition_fn``: retry a failed task unless it failed on input."""
    try:
        state.result()
    except NOT_RETRIED:
        return False
    except Exception:
        return True
    return True


def run_day(campaign: str, as_of: object) -> str:
    """The day a run speaks of, for its name: the date given, else today in the campaign's
    time zone (as the flow will resolve it), else 今日 when the campaign cannot be read —
    the flow's first task then reports why."""
    if isinstance(as_of, date):
        return as_of.isoformat()
    if as_of:
        return str(as_of)
    from pingan.root import container
    from pingan.services.tick import open_campaign, resolve_as_of

    try:
        return resolve_as_of(open_campaign(container().engine, campaign), None).isoformat()
    except Exception:
        return "今日"


def run_namer(label: str, *, dated: bool = True) -> Callable[[], str]:
    """A ``flow_run_name`` callable: "巡检 xucheng-2017 2017-10-31" from the run's
    parameters (Prefect calls it without arguments, before the flow body)."""

    def name() -> str:
        from prefect.runtime import flow_run

        params: dict[str, Any] = dict(flow_run.parameters or {})
        parts = [label, str(params.get("campaign") or "")]
        if dated:
            parts.append(run_day(parts[1], params.get("as_of")))
        return " ".join(p for p in parts if p)

    name.__name__ = f"name_{label}"
    return name

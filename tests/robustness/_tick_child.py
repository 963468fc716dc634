"""One whole tick in a child process, for the crash and concurrency tests.

    python -m tests.robustness._tick_child --db URL --as-of 2017-11-02 --inbox PATH
        [--kill HOOK:N] [--flow] [--out result.json] [--step all|tick|dispatch]
        [--lease SECONDS] [--wait SECONDS] [--until-done] [--start-at EPOCH]

Composition path (default): intake (pingan.services.collect.collect_inbox), evaluation and
planning (pingan.services.tick.evaluate_and_plan),
delivery (pingan.services.dispatch.run_dispatch) and
the artifacts' content (pingan.adapters.render.tick_summary). With --flow the same tick runs as the
pingan-tick Prefect flow, artifacts and all, against the server in PREFECT_API_URL.

--kill HOOK:N SIGKILLs this process at the N-th call of one of the HOOKS below: the process
dies on the spot, as it would under the OOM killer or a lost machine, leaving whatever it
had half done. Without --kill every hook only counts its calls; the counts go to --out, so
the test can choose kill points that a run really reaches.

--step tick stops after evaluation and planning; --step dispatch only delivers, and with
--until-done keeps delivering until nothing is pending (a standalone dispatcher). --wait is
how long one dispatch waits for rows due soon (default: long enough for a killed run's
leases to run out). --start-at holds the work until that wall-clock time, after the slow
imports, so that processes started together really do their work at the same moment.

Test-only tuning, the same in every run: intake works in batches of 4 files (so that a kill
can fall between batches), deliveries are leased for --lease seconds (default 1, so that a
re-run can take over a killed run's leases at once) in batches of 5, and the campaign lock
lives LOCK_TTL_S seconds (so that a re-run after a kill need not wait the production two
minutes for it). Exit code 0 when every step ran.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import importlib
import json
import os
import signal
import sys
import time
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

LEASE_S = 1.0
LOCK_TTL_S = 3.0
INTAKE_BATCH = 4
DISPATCH_BATCH = 5
CAMPAIGN = "xucheng-2017"

# name: (phase, "module:attribute" or "module:Class.attribute", when); a function is hooked
#   in the module that calls it, where the call looks its name up.
#   before / after: die just before the call, or just after it returns;
#   during: die while copying a file (the store's temp file half written).
HOOKS: dict[str, tuple[str, str, str]] = {
    "store-copy": ("intake", "pingan.adapters.intake.store:_copy_to_temp", "during"),
    "evidence-stored": ("intake", "pingan.adapters.intake.store:EvidenceStore.put", "after"),
    "quarantine-copy": ("intake", "pingan.adapters.intake.store:Quarantine.put", "during"),
    "quarantine-note": ("intake", "pingan.adapters.intake.store:_write_text_durably", "before"),
    "quarantined": ("intake", "pingan.adapters.intake.store:Quarantine.put", "after"),
    "intake-commit": ("intake", "pingan.adapters.intake.collect.writing:_write_batch", "before"),
    "intake-committed": ("intake", "pingan.adapters.intake.collect.writing:_write_batch", "after"),
    "inbox-cleared": ("intake", "pingan.adapters.intake.collect.batch:_remove_delivered", "after"),
    "evaluate-start": ("evaluation", "pingan.services.tick:evaluate", "before"),
    "evaluated": ("evaluation", "pingan.services.tick:evaluate", "after"),
    "planned": ("planning", "pingan.services.tick:plan_notifications", "after"),
    "status-counted": ("planning", "pingan.services.tick:status_report", "after"),
    "tick-committed": ("planning", "pingan.adapters.db.locks:release", "before"),
    "expanded": ("dispatch", "pingan.adapters.outbox.run:expand", "after"),
    "claimed": ("dispatch", "pingan.adapters.outbox.run:claim_on", "after"),
    "sending": ("dispatch", "pingan.adapters.channels.webhook:JsonWebhook.send", "before"),
    "sent": ("dispatch", "pingan.adapters.channels.webhook:JsonWebhook.send", "after"),
    "marked": ("dispatch", "pingan.adapters.outbox.marks:Marker.mark", "after"),
    "reconciling": ("dispatch", "pingan.adapters.outbox.run:reconcile", "before"),
    "table-artifact": ("artifacts", "tasks.artifacts:create_table_artifact", "before"),
    "summary-artifact": ("artifacts", "tasks.artifacts:create_markdown_artifact", "after"),
}

COUNTS: Counter[str] = Counter()


def _die() -> None:
    sys.stdout.flush()
    os.kill(os.getpid(), signal.SIGKILL)


def _owner(target: str) -> tuple[Any, str]:
    module_name, _, path = target.partition(":")
    owner: Any = importlib.import_module(module_name)
    *parents, attribute = path.split(".")
    for parent in parents:
        owner = getattr(owner, parent)
    return owner, attribute


class _DyingReader:
    """Hands out the first chunk, then dies when asked for more: a copy cut short."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self._reads = 0

    def read(self, size: int = -1) -> bytes:
        self._reads += 1
        if self._reads > 1:
            _die()
        return bytes(self._inner.read(size))

    def __enter__(self) -> _DyingReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self._inner.close()


def _install(name: str, kill_at: int | None) -> None:
    _, target, when = HOOKS[name]
    owner, attribute = _owner(target)
    original = getattr(owner, attribute)

    def due() -> bool:
        COUNTS[name] += 1
        return kill_at is not None and COUNTS[name] == kill_at

    if when == "during":

        def hooked(*args: Any, **kwargs: Any) -> Any:
            if due():  # the first callable argument opens the file being copied
                at = next(i for i, a in enumerate(args) if callable(a))
                opener = args[at]
                dying = (*args[:at], lambda: _DyingReader(opener()), *args[at + 1 :])
                return original(*dying, **kwargs)
            return original(*args, **kwargs)

    else:

        def hooked(*args: Any, **kwargs: Any) -> Any:
            dying = due()
            if dying and when == "before":
                _die()
            result = original(*args, **kwargs)
            if dying:
                _die()
            return result

    functools.update_wrapper(hooked, original)
    setattr(owner, attribute, hooked)


def _tune(lease_s: float) -> None:
    """The test-only settings of the module docstring."""
    import pingan.services.collect
    import pingan.services.dispatch
    import pingan.services.tick

    collect = pingan.services.collect.collect  # type: ignore[attr-defined]

    def batched(run: Any, inbox: str) -> Any:
        return collect(dataclasses.replace(run, batch_size=INTAKE_BATCH), inbox)

    pingan.services.collect.collect = batched  # type: ignore[attr-defined]
    pingan.services.tick.campaign_lock = functools.partial(  # type: ignore[assignment]
        pingan.services.tick.campaign_lock, ttl_s=LOCK_TTL_S
    )
    compose = pingan.services.dispatch.dispatch_policy

    def tuned(*args: Any, **kwargs: Any) -> Any:
        return dataclasses.replace(compose(*args, **kwargs), lease_s=lease_s, batch=DISPATCH_BATCH)

    pingan.services.dispatch.dispatch_policy = tuned


def _composition(
    db: str, as_of: date, inbox: str | None, step: str, wait_s: float, until_done: bool
) -> dict[str, Any]:
    from pingan import root
    from pingan.adapters.db.session import make_engine
    from pingan.adapters.outbox import outbox_counts
    from pingan.adapters.render.tick_summary import colour_table, summary_markdown
    from pingan.services.collect import collect_inbox
    from pingan.services.dispatch import run_dispatch
    from pingan.services.tick import evaluate_and_plan, open_campaign

    engine = make_engine(db)
    handle = open_campaign(engine, CAMPAIGN)
    out: dict[str, Any] = {}
    if step in ("all", "tick"):
        intake = None
        if inbox:
            stores = root.container().intake_stores()
            report = collect_inbox(engine, handle, inbox, stores, as_of=as_of)
            intake = {
                "accepted": report.accepted,
                "duplicates": report.duplicates,
                "rejected": report.rejected,
                "late": report.late,
            }
        print(f"{time.monotonic():.1f} intake done: {intake}", flush=True)
        result = evaluate_and_plan(engine, handle, as_of)
        print(f"{time.monotonic():.1f} tick done", flush=True)
        out["colour_table"] = colour_table(result.status)
        out["summary"] = summary_markdown(result, intake, None)
    if step in ("all", "dispatch"):
        deadline = time.monotonic() + 90
        while True:
            c = root.container()
            report = run_dispatch(
                engine,
                handle,
                c.delivery(),
                c.settings,
                respect_quiet_hours=False,
                wait_up_to_s=wait_s,
            )
            out["delivery"] = report.as_dict()
            print(f"{time.monotonic():.1f} dispatch {out['delivery']}", flush=True)
            counts = outbox_counts(engine, handle.campaign_id)
            pending = counts["queued"] + counts["leased"] + counts["failed"]
            if not until_done or not pending or time.monotonic() > deadline:
                break
            time.sleep(0.1)
    engine.dispose()
    return out


def _flow(as_of: date, inbox: str | None) -> dict[str, Any]:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    from flows.tick import tick

    state = tick(
        campaign=CAMPAIGN, as_of=as_of, inbox=inbox, respect_quiet_hours=False, return_state=True
    )
    run_id = str(state.state_details.flow_run_id)
    keys = [f"{CAMPAIGN}-status-colours", f"{CAMPAIGN}-tick-summary"]
    with get_client(sync_client=True) as client:
        found = client.read_latest_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=keys))
        )
    artifacts = {a.key: {"flow_run_id": str(a.flow_run_id), "data": a.data} for a in found}
    return {"flow_run_id": run_id, "state": state.type.value, "artifacts": artifacts}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", required=True)
    parser.add_argument("--as-of", required=True, type=date.fromisoformat)
    parser.add_argument("--inbox")
    parser.add_argument("--kill")
    parser.add_argument("--flow", action="store_true")
    parser.add_argument("--step", choices=("all", "tick", "dispatch"), default="all")
    parser.add_argument("--out", type=Path)
    parser.add_argument("--lease", type=float, default=LEASE_S)
    parser.add_argument("--wait", type=float)
    parser.add_argument("--until-done", action="store_true")
    parser.add_argument("--start-at", type=float)
    args = parser.parse_args(argv)

    kill_name, kill_at = None, None
    if args.kill:
        kill_name, _, n = args.kill.partition(":")
        kill_at = int(n)
    for name, (phase, _, _) in HOOKS.items():
        if phase == "artifacts" and not args.flow:
            continue
        _install(name, kill_at if name == kill_name else None)
    _tune(args.lease)  # has imported what the work needs: only this wait stays between runs
    if args.start_at is not None:
        time.sleep(max(0.0, args.start_at - time.time()))

    if args.flow:
        os.environ["PINGAN_DATABASE_URL"] = args.db
        out = _flow(args.as_of, args.inbox)
    else:
        wait = args.lease + 2 if args.wait is None else args.wait
        out = _composition(args.db, args.as_of, args.inbox, args.step, wait, args.until_done)
    out["counts"] = dict(COUNTS)
    if args.out:
        args.out.write_text(json.dumps(out, ensure_ascii=False, default=str), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Tick at scale: the Prefect tick flow vs the same SQL issued bare, and vs a naive
one-task-per-cell flow, on SQLite and PostgreSQL.

Each size is also measured against bench/limit.py, a minimal bare tick, statement by
statement (--rounds interleaved rounds, medians; --limit-only skips the flow runs).
--full adds 1M cells, and 10M cells on PostgreSQL: load, a tick on a mid-campaign day and
the tick after the self-check deadline, with peak RSS (hours on 2 cores).

For each size (default 10k and 100k cells; --full adds 1M) and backend, a child process
loads a synthetic roster, another measures — on the same database, reset in between — the
bare evaluate-and-plan call and the `pingan-tick` flow for 2017-11-01 (the day after the
self-check deadline: every cell's report is overdue, so every row is evaluated and one
escalation per cell is planned). Peak RSS is that of the measuring process.

Prefect's fixed cost per flow run is reported apart; the figure that matters is the
marginal cost per cell (the slope between sizes) against the bare SQL's slope.

Usage: python bench/tick.py [--sizes 10000 100000] [--full] [--backend sqlite]
Targets (issue 3): flow ≤ 2× bare at 100k; task runs per tick independent of cell count;
peak RSS < 1 GB at 1M.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _common import SEED, backends, emit, machine, pg_url  # noqa: E402

AS_OF = date(2017, 11, 1)
NAIVE_CELLS = 2000


def _db_url(backend: str, workdir: Path, name: str) -> str:
    if backend == "sqlite":
        return f"sqlite:///{workdir / (name + '.db')}"
    url = pg_url()
    assert url
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}options=-csearch_path%3D{name}"


def _child(args: list[str], env: dict[str, str]) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        raise SystemExit(f"child {args} failed:\n{out.stderr[-4000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


# --- children -------------------------------------------------------------------------------


def child_load(url: str, cells: int, workdir: Path) -> dict[str, Any]:
    import resource

    from sqlalchemy import create_engine, text

    from pingan.adapters.db.session import make_engine
    from pingan.core.campaign import load_campaign
    from pingan.services.load import load
    from pingan.services.synth import write_roster

    if url.startswith("postgresql"):
        schema = url.rsplit("%3D", 1)[1]
        admin = create_engine(url.split("?")[0])
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        admin.dispose()
    roster = workdir / f"roster-{cells}.csv"
    write_roster(load_campaign(SEED), cells, 2017, roster)
    engine = make_engine(url)
    start = time.perf_counter()
    result = load(engine, SEED, roster, actor="bench")
    seconds = time.perf_counter() - start
    roster.unlink()
    return {
        "load_seconds": round(seconds, 2),
        "obligations": result.obligations_created,
        "load_peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def _reset(engine: Any) -> None:
    """Back to 'never evaluated, nothing planned', so both runs do the same work."""
    from sqlalchemy import delete, update

    from pingan.adapters.db.campaigns import CampaignRow
    from pingan.adapters.db.notifications import NotificationRow
    from pingan.adapters.db.obligations import ObligationRow

    with engine.begin() as conn:
        conn.execute(delete(NotificationRow))
        conn.execute(
            update(ObligationRow).values(
                status="not_open",
                status_as_of=None,
                wd_offset=0,
                days_overdue=0,
                escalation_level=0,
                notified_level=0,
            )
        )
        conn.execute(update(CampaignRow).values(evaluated_on=None))
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE obligation")
            conn.exec_driver_sql("VACUUM ANALYZE notification")


def _task_runs_of_last_flow_run() -> int:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
    from prefect.client.schemas.sorting import FlowRunSort

    with get_client(sync_client=True) as client:
        run = client.read_flow_runs(sort=FlowRunSort.START_TIME_DESC, limit=1)[0]
        return len(
            client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[run.id])))
        )


def child_tick(url: str) -> dict[str, Any]:
    import resource

    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

    from flows.tick import tick
    from pingan.adapters.db.session import make_engine
    from pingan.services.tick import evaluate_and_plan, open_campaign

    engine = make_engine(url)
    handle = open_campaign(engine, "xucheng-2017")
    _reset(engine)
    start = time.perf_counter()
    bare = evaluate_and_plan(engine, handle, AS_OF)
    bare_s = time.perf_counter() - start
    _reset(engine)
    # The first flow call starts Prefect's temporary server; time a warm-up apart.
    warm_start = time.perf_counter()
    tick(campaign="xucheng-2017", as_of=date(2017, 4, 30), dry_run=True, dispatch=False)
    warmup_s = time.perf_counter() - warm_start
    _reset(engine)
    start = time.perf_counter()
    # Delivery is measured by bench/dispatch.py; here flow and bare do the same SQL work.
    # Prefect joins its heartbeat thread, which sleeps in whole seconds, when a sync flow
    # ends: up to 1 s of waiting that depends only on where the run ends within a second.
    # It is switched off here, as the demo does, so the figure is the work.
    with temporary_settings({PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
        outcome = tick(campaign="xucheng-2017", as_of=AS_OF, dispatch=False)
    flow_s = time.perf_counter() - start
    assert outcome.escalations == bare.plan.escalations, (outcome, bare.plan)
    return {
        "bare_seconds": round(bare_s, 3),
        "flow_seconds": round(flow_s, 3),
        "server_start_seconds": round(warmup_s, 2),
        "task_runs": _task_runs_of_last_flow_run(),
        "planned": bare.plan.total,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


PINGAN_STEPS = (
    ("pingan.services.tick", "evaluate", "evaluate"),
    ("pingan.adapters.db.planner.ladder", "_fresh_by_level", "levels"),
    ("pingan.adapters.db.planner.ladder", "_plan_reminders", "reminders"),
    ("pingan.adapters.db.planner.ladder", "_plan_escalations", "escalations"),
    ("pingan.adapters.db.planner.ladder", "_plan_digests", "digests"),
    ("pingan.adapters.db.planner.ladder", "_announce", "announce"),
    # The report's per-status counting is what bench/limit.py's counts do; the rest of the
    # report (KPIs, outbox states, receipts) is not in the limit.
    ("pingan.adapters.db.status", "status_counts", "counts"),
    ("pingan.services.tick", "status_report", "report"),
    ("pingan.adapters.db.status_items", "worst_item_ids", "artifact"),
    ("pingan.services.tick", "overdue_counts", "artifact"),
)


def _time_pingan_steps(seconds: dict[str, float]) -> None:
    """Wrap the tick's statement groups so each call adds its own time to ``seconds``, less
    that of the wrapped calls it makes (status_report calls status_counts)."""
    import importlib

    inner: list[float] = []  # per active wrapped call: time spent in wrapped calls it made
    for module_name, attr, label in PINGAN_STEPS:
        module = importlib.import_module(module_name)
        fn = getattr(module, attr)

        def timed_fn(*a: Any, _fn: Any = fn, _label: str = label, **kw: Any) -> Any:
            start = time.perf_counter()
            inner.append(0.0)
            try:
                return _fn(*a, **kw)
            finally:
                spent = time.perf_counter() - start
                seconds[_label] = seconds.get(_label, 0.0) + spent - inner.pop()
                if inner:
                    inner[-1] += spent

        setattr(module, attr, timed_fn)


def _limit_rules(engine: Any, handle: Any) -> Any:
    from limit import Rules
    from sqlalchemy import select

    from pingan.adapters.db.units import UnitRow

    c = handle.campaign
    with engine.connect() as conn:
        coordinator = conn.scalar(
            select(UnitRow.id).where(
                UnitRow.campaign_id == handle.campaign_id, UnitRow.kind == "coordinator"
            )
        )
    return Rules(
        tuple(c.reminders.days_before),
        tuple((s.after, s.notify) for s in c.escalation.ladder),
        c.escalation.repeat_every,
        int(coordinator),
    )


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    return round(ordered[len(ordered) // 2], 3)


def child_limit(url: str, rounds: int) -> dict[str, Any]:
    """pingan's evaluate_and_plan against bench/limit.py on the same rows, per statement,
    ``rounds`` interleaved rounds (medians)."""
    import limit

    from pingan.adapters.db.session import make_engine
    from pingan.services.tick import evaluate_and_plan, open_campaign

    engine = make_engine(url)
    handle = open_campaign(engine, "xucheng-2017")
    rules = _limit_rules(engine, handle)
    seconds: dict[str, float] = {}
    _time_pingan_steps(seconds)
    pingan_runs: list[dict[str, float]] = []
    limit_runs: list[dict[str, Any]] = []
    for _ in range(rounds):
        _reset(engine)
        seconds.clear()
        start = time.perf_counter()
        result = evaluate_and_plan(engine, handle, AS_OF)
        total = time.perf_counter() - start
        pingan_runs.append({**seconds, "other": total - sum(seconds.values()), "total": total})
        conn = limit.connect(url)
        limit.copy_from_pingan(conn, handle.campaign_id)
        measured = limit.tick(conn, rules, AS_OF)
        conn.close()
        limit_runs.append(measured)
        planned = (measured["reminders"], measured["escalations"], measured["digests"])
        plan = result.plan
        assert planned == (plan.reminders, plan.escalations, plan.digests), (planned, plan)
        assert measured["by_level"] == plan.by_level, (measured["by_level"], plan.by_level)
    steps: dict[str, dict[str, float | None]] = {}
    for label in [*dict.fromkeys(s[2] for s in PINGAN_STEPS), "other", "total"]:
        p = _median([r.get(label, 0.0) for r in pingan_runs])
        if label == "total":
            lim = _median([r["total_seconds"] for r in limit_runs])
        elif label in ("artifact", "report"):  # worst items, counts per level, the report's
            lim = 0.0  # KPIs, outbox states and receipts: not in the limit
        elif label == "other":
            lim = _median([r["seconds"]["commit"] for r in limit_runs])
        else:
            lim = _median([r["seconds"][label] for r in limit_runs])
        steps[label] = {"pingan": p, "limit": lim, "ratio": round(p / lim, 2) if lim else None}
    return {
        "rounds": rounds,
        "planned": limit_runs[-1]["reminders"]
        + limit_runs[-1]["escalations"]
        + limit_runs[-1]["digests"],
        "evaluated": limit_runs[-1]["evaluated"],
        "steps": steps,
    }


MID_CAMPAIGN = date(2017, 8, 15)
HUGE_CELLS = 10_000_000  # --full, PostgreSQL only


def child_days(url: str) -> dict[str, Any]:
    """Two ticks as a province would run them: a mid-campaign day, then the day after the
    self-check deadline (every report overdue); seconds, plans and peak RSS."""
    import resource

    from pingan.adapters.db.session import make_engine
    from pingan.services.tick import evaluate_and_plan, open_campaign

    engine = make_engine(url)
    handle = open_campaign(engine, "xucheng-2017")
    out: dict[str, Any] = {}
    for label, day in (("mid_campaign", MID_CAMPAIGN), ("after_deadline", AS_OF)):
        start = time.perf_counter()
        result = evaluate_and_plan(engine, handle, day)
        out[label] = {
            "as_of": day.isoformat(),
            "seconds": round(time.perf_counter() - start, 2),
            "planned": result.plan.total,
        }
    out["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    return out


GROW_FROM = 1_000_000  # cells loaded through `pingan load` before the copies


def child_grow(url: str, times: int) -> dict[str, Any]:
    """Copy the loaded cells ``times - 1`` more times in SQL (new codes, same domains and
    villages), then create their obligations with pingan's own set-based materialisation.
    A roster file holds at most 2,000,000 rows (the loader's bound), so a province-sized
    campaign is grown here instead of read from one file; contacts are not copied (the tick
    does not read them)."""
    import resource

    from sqlalchemy import text

    from pingan.adapters.db.evaluate import set_supervisors
    from pingan.adapters.db.load.materialise import materialise_obligations
    from pingan.adapters.db.session import make_engine, session_scope
    from pingan.core.campaign import load_campaign
    from pingan.services.tick import open_campaign

    engine = make_engine(url)
    handle = open_campaign(engine, "xucheng-2017")
    cid = handle.campaign_id
    cols = (
        "campaign_id, code, name, kind, domain_id, village_id, category, supervisor_id,"
        " status, withdrawn_at, created_at, updated_at"
    )
    start = time.perf_counter()
    with engine.begin() as conn:
        conn.execute(
            text(
                f"INSERT INTO unit ({cols}) SELECT campaign_id, code || '-' || k, name, kind,"
                " domain_id, village_id, category, supervisor_id, status, withdrawn_at,"
                " created_at, updated_at FROM unit CROSS JOIN generate_series(2, :n) AS k"
                " WHERE campaign_id = :c AND kind = 'cell' ORDER BY k, id"
            ),
            {"n": times, "c": cid},
        )
        conn.exec_driver_sql("ANALYZE unit")
    copied_s = time.perf_counter() - start
    start = time.perf_counter()
    with session_scope(engine) as session:
        created = materialise_obligations(session, load_campaign(SEED), cid)
        set_supervisors(session, cid)
    materialise_s = time.perf_counter() - start
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE obligation")
        conn.exec_driver_sql("VACUUM ANALYZE unit")
        cells = conn.execute(
            text("SELECT count(*) FROM unit WHERE campaign_id = :c AND kind = 'cell'"), {"c": cid}
        ).scalar_one()
        obligations = conn.execute(
            text("SELECT count(*) FROM obligation WHERE campaign_id = :c"), {"c": cid}
        ).scalar_one()
    return {
        "cells": int(cells),
        "obligations": int(obligations),
        "copy_seconds": round(copied_s, 2),
        "materialise_seconds": round(materialise_s, 2),
        "obligations_created": created,
        "grow_peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def _huge(workdir: Path, env: dict[str, str], cells: int = HUGE_CELLS) -> dict[str, Any]:
    """10M cells on PostgreSQL: 1M loaded through `pingan load`, grown to ``cells`` in SQL and
    pingan's materialisation (peak RSS of each process), then two ticks."""
    url = _db_url("postgresql", workdir, "bench_tick_10m")
    base = min(GROW_FROM, max(1, cells // 10))
    loaded = _child(["--child", "load", url, str(base), str(workdir)], env)
    grown = _child(["--child", "grow", url, str(cells // base)], env)
    load_s = loaded["load_seconds"] + grown["copy_seconds"] + grown["materialise_seconds"]
    return {
        "loaded_through_pingan": base,
        **loaded,
        **grown,
        "total_load_seconds": round(load_s, 2),
        **_child(["--child", "days", url], env),
    }


def child_naive(url: str) -> dict[str, Any]:
    """The anti-pattern: one Prefect task per cell, each updating its own row."""
    from prefect import flow, task
    from sqlalchemy import select, update

    from pingan.adapters.db.obligations import ObligationRow
    from pingan.adapters.db.session import make_engine

    engine = make_engine(url)
    with engine.connect() as conn:
        ids = list(conn.scalars(select(ObligationRow.id)))

    @task(persist_result=False)
    def evaluate_one(obligation_id: int) -> None:
        with engine.begin() as conn:
            conn.execute(
                update(ObligationRow)
                .where(ObligationRow.id == obligation_id)
                .values(status="overdue", status_as_of=AS_OF)
            )

    @flow(name="naive-per-cell-tick")
    def naive() -> None:
        for oid in ids:
            evaluate_one(oid)

    naive()  # warm: server start
    start = time.perf_counter()
    naive()
    seconds = time.perf_counter() - start
    return {
        "cells": len(ids),
        "seconds": round(seconds, 2),
        "per_cell_ms": round(1000 * seconds / len(ids), 2),
        "extrapolated_1m_hours": round(seconds / len(ids) * 1_000_000 / 3600, 2),
    }


# --- parent ---------------------------------------------------------------------------------


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    ap.add_argument(
        "--full",
        action="store_true",
        help="also 1,000,000 cells, and 10,000,000 on PostgreSQL (load, a mid-campaign tick, "
        "the tick after the self-check deadline, peak RSS)",
    )
    ap.add_argument("--backend", action="append", choices=["sqlite", "postgresql"])
    ap.add_argument("--naive-cells", type=int, default=NAIVE_CELLS)
    ap.add_argument("--rounds", type=int, default=1, help="interleaved rounds vs bench/limit.py")
    ap.add_argument("--limit-only", action="store_true", help="only pingan vs bench/limit.py")
    ap.add_argument(
        "--huge-cells",
        type=int,
        default=HUGE_CELLS,
        help="cells of the --full PostgreSQL province run (default 10,000,000)",
    )
    ap.add_argument("--huge-only", action="store_true", help="only the --full province run")
    ap.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        kind, url, *rest = args.child
        result = {
            "load": lambda: child_load(url, int(rest[0]), Path(rest[1])),
            "tick": lambda: child_tick(url),
            "naive": lambda: child_naive(url),
            "limit": lambda: child_limit(url, int(rest[0])),
            "days": lambda: child_days(url),
            "grow": lambda: child_grow(url, int(rest[0])),
        }[kind]()
        print(json.dumps(result))
        return

    sizes = sorted(set(args.sizes + ([1_000_000] if args.full else [])))
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        env = {
            "PREFECT_HOME": str(workdir / "prefect"),
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "DO_NOT_TRACK": "1",
            "PREFECT_LOGGING_LEVEL": "WARNING",
            # The temporary server starts slowly on a loaded 2-core machine.
            "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
            "PYTHONPATH": f"{HERE.parent}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
        }
        for backend in [] if args.huge_only else backends(args.backend):
            rows = []
            for n in sizes:
                url = _db_url(backend, workdir, f"bench_tick_{n}")
                loaded = _child(["--child", "load", url, str(n), str(workdir)], env)
                vs_limit = _child(["--child", "limit", url, str(args.rounds)], env)
                measured = (
                    {}
                    if args.limit_only
                    else _child(["--child", "tick", url], {**env, "PINGAN_DATABASE_URL": url})
                )
                rows.append({"cells": n, **loaded, **measured, "vs_limit": vs_limit})
            if args.limit_only:
                results.append({"backend": backend, "sizes": rows})
                continue
            naive_url = _db_url(backend, workdir, "bench_tick_naive")
            _child(["--child", "load", naive_url, str(args.naive_cells), str(workdir)], env)
            naive = _child(["--child", "naive", naive_url], env)
            for r in rows:
                r["ratio_flow_to_bare"] = round(r["flow_seconds"] / r["bare_seconds"], 2)
                r["cells_per_s"] = round(r["cells"] / r["flow_seconds"])
            summary: dict[str, Any] = {"backend": backend, "sizes": rows, "naive_per_cell": naive}
            if len(rows) >= 2:
                a, b = rows[0], rows[-1]
                dn = b["cells"] - a["cells"]
                flow_slope = (b["flow_seconds"] - a["flow_seconds"]) / dn
                bare_slope = (b["bare_seconds"] - a["bare_seconds"]) / dn
                summary["marginal_us_per_cell"] = {
                    "flow": round(flow_slope * 1e6, 2),
                    "bare": round(bare_slope * 1e6, 2),
                    "ratio": round(flow_slope / bare_slope, 2) if bare_slope > 0 else None,
                }
                summary["prefect_fixed_seconds"] = round(a["flow_seconds"] - a["bare_seconds"], 2)
            at_100k = next((r for r in rows if r["cells"] == 100_000), None)
            summary["targets"] = {
                "flow_le_2x_bare_at_100k": at_100k["ratio_flow_to_bare"] <= 2.0
                if at_100k
                else None,
                "task_runs_constant": len({r["task_runs"] for r in rows}) == 1,
                "rss_under_1gb_at_1m": next(
                    (r["peak_rss_mb"] < 1024 for r in rows if r["cells"] == 1_000_000), None
                ),
            }
            results.append(summary)
        if (args.full or args.huge_only) and "postgresql" in backends(args.backend):
            results.append({"backend": "postgresql", "huge": _huge(workdir, env, args.huge_cells)})
    emit(
        {"benchmark": "tick", "as_of": AS_OF.isoformat(), "machine": machine(), "results": results}
    )


if __name__ == "__main__":
    main()

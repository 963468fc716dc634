"""Run every benchmark and write one markdown table (figure, same-run baseline, ratio) into
the README between the `bench:start` / `bench:end` markers.

Each benchmark runs in its own process (its JSON is read from stdout), on SQLite and, when
PINGAN_TEST_DATABASE_URL or PINGAN_BENCH_PG_URL is set, PostgreSQL. The default run (`make
bench`) takes about half an hour on 2 cores; `--full` adds the 1M-cell ticks and renders all
90,000 certificates (a few hours in all). `--smoke` (CI) runs every benchmark at a size that
only proves it still runs (a few minutes in all; the demo is left to the tests) and never
writes the README.

    .venv/bin/python bench/run_all.py [--full|--smoke] [--only load tick …] [--no-readme]
        [--json F]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
README = ROOT / "README.md"
START, END = "<!-- bench:start -->", "<!-- bench:end -->"

Row = tuple[str, str, str, str, str]  # benchmark, what, figure vs baseline, ratio, target
SMOKE = False  # set by --smoke: sizes that only prove each benchmark still runs


def _size(default: str, smoke: str) -> str:
    return smoke if SMOKE else default


def _run(args: list[str], timeout: float = 4 * 3600) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    env.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    env.setdefault("DO_NOT_TRACK", "1")
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed:\n{proc.stderr[-2000:]}")
    out = proc.stdout
    # The JSON object is the last thing a benchmark prints.
    payload: dict[str, Any] = json.loads(out[out.index("{") :] if out.lstrip()[:1] != "{" else out)
    payload["_wall_s"] = round(time.monotonic() - started, 1)
    return payload


def _n(x: float) -> str:
    return f"{x:,.0f}" if x >= 100 else f"{x:.2f}".rstrip("0").rstrip(".")


def load(full: bool) -> list[Row]:
    data = _run(["bench/load_roster.py", "--cells", _size("100000", "5000")])
    return [
        (
            "`bench/load_roster.py`",
            f"{r['backend']}: `pingan load` of {_n(r['cells'])} cells vs bare executemany",
            f"{r['load_seconds']} s vs {r['bare_executemany_seconds']} s",
            f"**{r['ratio']}×**",
            f"≤ {r['target_ratio']}×",
        )
        for r in data["results"]
    ]


def _flow_row(backend: str, r: dict[str, Any]) -> Row:
    return (
        "`bench/tick.py`",
        f"{backend}: tick flow at {_n(r['cells'])} cells vs the same SQL bare "
        f"({r['task_runs']} task runs, {_n(r['peak_rss_mb'])} MB peak RSS)",
        f"{r['flow_seconds']} s vs {r['bare_seconds']} s",
        f"**{r['ratio_flow_to_bare']}×**",
        "≤ 2× at 100k" if r["cells"] == 100_000 else "—",
    )


def tick(full: bool) -> list[Row]:
    # Smoke: pingan's tick against bench/limit.py only; the flows run in the tests.
    sizes = ["2000", "--limit-only"] if SMOKE else ["10000", "100000"]
    args = ["bench/tick.py", "--sizes", *sizes] + (["--full"] if full else [])
    data = _run(args)
    rows: list[Row] = []
    for res in data["results"]:
        huge = res.get("huge")
        if huge:
            mid, after = huge["mid_campaign"], huge["after_deadline"]
            rows.append(
                (
                    "`bench/tick.py`",
                    f"postgresql: {_n(huge['cells'])} cells, {_n(huge['obligations'])} "
                    f"obligations: load ({_n(huge['loaded_through_pingan'])} cells through "
                    "`pingan load`, the rest copied in SQL and materialised by pingan; "
                    f"{_n(max(huge['load_peak_rss_mb'], huge['grow_peak_rss_mb']))} MB peak "
                    f"RSS), tick on {mid['as_of']} and on {after['as_of']} "
                    f"({_n(after['planned'])} messages; {_n(huge['peak_rss_mb'])} MB peak RSS)",
                    f"{huge['total_load_seconds']} s; {mid['seconds']} s; {after['seconds']} s",
                    "—",
                    "measured",
                )
            )
            continue
        for r in res["sizes"]:
            if "flow_seconds" in r:
                rows.append(_flow_row(res["backend"], r))
            lim = r.get("vs_limit")
            if lim:
                steps = {k: v for k, v in lim["steps"].items() if k not in ("total", "other")}
                worst = max(
                    (k for k in steps if steps[k]["ratio"] is not None),
                    key=lambda k: steps[k]["ratio"],
                )
                total = lim["steps"]["total"]
                rows.append(
                    (
                        "`bench/tick.py`",
                        f"{res['backend']}: `evaluate_and_plan` at {_n(r['cells'])} cells vs "
                        "`bench/limit.py`, a minimal bare tick (worst statement: "
                        f"{worst} {steps[worst]['ratio']}×)",
                        f"{total['pingan']} s vs {total['limit']} s",
                        f"**{total['ratio']}×**",
                        "≤ 1.5× at 1M, no statement > 2×",
                    )
                )
        naive = res.get("naive_per_cell") or {}
        if "per_cell_ms" in naive:
            rows.append(
                (
                    "`bench/tick.py`",
                    f"{res['backend']}: the naive design, one Prefect task per cell "
                    f"({_n(naive['cells'])} cells)",
                    f"{naive['per_cell_ms']} ms per cell ≈ {naive['extrapolated_1m_hours']} h "
                    "per 1M cells",
                    "—",
                    "—",
                )
            )
    return rows


def intake(full: bool) -> list[Row]:
    r = _run(
        ["bench/intake.py", "--files", _size("10000", "300"), "--mails", _size("2000", "50")]
        + (["--repeat", "1"] if SMOKE else [])
    )
    rows: list[Row] = [
        (
            "`bench/intake.py`",
            f"sqlite: `pingan collect` of {_n(r['files'])} PDFs vs copyfile + sha256 (medians)",
            f"{r['seconds']} s vs {r['baseline_seconds']} s",
            f"**{r['ratio']}×**",
            f"≤ {r['target_ratio']}×",
        )
    ]
    m = r.get("mail")
    if m:
        rows.append(
            (
                "`bench/intake.py`",
                f"sqlite: `pingan collect --mail` of {_n(m['mails'])} mails (one PDF each, "
                "local Dovecot, IMAPS) vs bare imaplib fetch + sha256",
                f"{m['seconds']} s vs {m['baseline_seconds']} s",
                f"**{m['ratio']}×**",
                f"≤ {m['target_ratio']}×",
            )
        )
    return rows


def dispatch(full: bool) -> list[Row]:
    data = _run(
        ["bench/dispatch.py", "--messages", _size("5000", "300"), "--repeat", _size("3", "1")]
    )
    return [
        (
            "`bench/dispatch.py`",
            f"{r['backend']}: {_n(r['messages'])} messages through the outbox vs bare httpx "
            f"posts of the same payloads (the bare posts with one committed mark each, and "
            f"nothing else: "
            f"{r['floor_ratio']:.0%})",
            f"{_n(r['dispatch_msgs_per_s'])} vs {_n(r['bare_msgs_per_s'])} msg/s",
            f"**{r['ratio']:.0%}**",
            f"≥ {r['target_ratio']:.0%}",
        )
        for r in data["results"]
    ] + [
        (
            "`bench/dispatch.py`",
            f"{r['backend']}: {_n(r['messages'])} {r['channel']} messages through the outbox to "
            "its stand-in vs bare SDK/httpx/smtplib calls",
            f"{_n(r['dispatch_msgs_per_s'])} vs {_n(r['bare_msgs_per_s'])} msg/s",
            f"**{r['ratio']:.0%}**",
            f"≥ {r['target_ratio']:.0%}",
        )
        for r in data.get("channels", [])
    ]


def award(full: bool) -> list[Row]:
    args = ["bench/award.py", "--cells", _size("100000", "3000")] + (
        [] if full else ["--certificates", _size("10000", "100")]
    )
    data = _run(args)
    rows: list[Row] = []
    for backend in ("sqlite", "postgresql"):
        r = data.get(backend)
        if not r:
            continue
        rows.append(
            (
                "`bench/award.py`",
                f"{backend}: import {_n(r['scores'])} scores (all checks, rounds, audit) vs "
                "csv + bare executemany of the same rows",
                f"{r['import_s']} s vs {r['baseline_import_s']} s "
                f"({_n(r['import_rows_per_s'])} rows/s)",
                f"**{r['import_ratio']}×**",
                "—",
            )
        )
        rows.append(
            (
                "`bench/award.py`",
                f"{backend}: award {_n(r['awards'])} cells (numbers, codes, {_n(r['notices'])} "
                "notices)",
                f"{r['grant_s']} s ({_n(r['awards_per_s'])} awards/s)",
                "—",
                "—",
            )
        )
    c = data.get("certificates")
    if c:
        rows.append(
            (
                "`bench/award.py`",
                f"{_n(c['certificates'])} certificate PDFs ({c['processes']} processes) vs "
                "one-line A4 PDFs with the same font (1 process)",
                f"{_n(c['certificates_per_s'])} vs "
                f"{_n(c['baseline_one_line_pdfs_per_s_one_process'])} PDFs/s",
                f"{c['certificate_vs_one_line_pdf']}× slower per PDF",
                "—",
            )
        )
        rows.append(
            (
                "`bench/award.py`",
                f"public list of {_n(c['public_list_entries'])} awards, PDF + XLSX",
                f"{c['public_list_pdf_xlsx_s']} s",
                "—",
                "—",
            )
        )
    return rows


def portal(full: bool) -> list[Row]:
    data = _run(["bench/portal.py", "--uploads", _size("200", "40"), "--repeat", _size("3", "1")])
    return [
        (
            "`bench/portal.py`",
            f"{r['backend']}: {r['concurrent_uploads']} concurrent uploads to one "
            "`pingan portal` vs a bare FastAPI endpoint writing the bytes (medians of "
            f"{r['rounds']}; recorded once each: {'yes' if r['none_lost_none_twice'] else 'NO'})",
            f"{r['portal_requests_per_s']} vs {r['baseline_requests_per_s']} req/s; p95 "
            f"{r['portal_p95_latency_s']} vs {r['baseline_p95_latency_s']} s",
            f"**{r['throughput_ratio']:.2f}×**",
            "none lost",
        )
        for r in data["results"]
    ]


def abuse(full: bool) -> list[Row]:
    data = _run(
        [
            "bench/abuse.py",
            *("--uploads", _size("300", "40"), "--slow", _size("100", "20")),
            *("--bomb-timeout", "30"),
        ]
    )
    target = f"< {data['targets']['bomb_seconds']:g} s, < {data['targets']['bomb_peak_mb']} MB"
    rows: list[Row] = [
        (
            "`bench/abuse.py`",
            f"{b['bomb']} (own process, 1 GiB rlimit; refused cleanly: "
            f"{'yes' if b['refused_cleanly'] else 'NO'})",
            f"{b['seconds']} s, {_n(b['peak_mb'])} MB peak"
            + (" — killed at the timeout" if b["timed_out"] else ""),
            "—",
            target,
        )
        for b in data["bombs"]
    ]
    b, s = data["burst"], data["slowloris"]
    rows.append(
        (
            "`bench/abuse.py`",
            f"`/healthz` during {b['uploads']} concurrent uploads ({b['accepted']} accepted, "
            f"{b['told_to_retry']} told to retry with 503, {b['other']} other)",
            f"p50 {b['health_p50_ms']} ms, p95 {b['health_p95_ms']} ms, "
            f"max {b['health_max_ms']} ms",
            "—",
            f"< {data['targets']['health_ms']} ms",
        )
    )
    rows.append(
        (
            "`bench/abuse.py`",
            f"{s['connections']} slow connections that never finish their headers, held "
            f"{s['hold_s']:g} s",
            f"{s['cut_off_by_server']} cut off by the server; `/healthz` p50 "
            f"{s['health_p50_ms']} ms, max {s['health_max_ms']} ms",
            "—",
            "all cut off",
        )
    )
    return rows


def demo(full: bool) -> list[Row]:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        started = time.monotonic()
        env = {k: v for k, v in os.environ.items() if not k.startswith("PINGAN_")}
        proc = subprocess.run(
            [sys.executable, "-m", "pingan.cli.app", "demo", "--out", f"{tmp}/demo"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=1800,
        )
        seconds = time.monotonic() - started
        if proc.returncode != 0:
            raise RuntimeError(proc.stderr[-2000:])
        summary = json.loads(Path(f"{tmp}/demo/summary.json").read_text(encoding="utf-8"))
    return [
        (
            "`pingan demo`",
            f"whole campaign, 2,000 cells, {summary['ticks']} tick flows + acceptance, award, "
            "report flows",
            f"{seconds:.0f} s wall",
            f"**{seconds / 120:.2f}** of the budget",
            "< 120 s",
        )
    ]


def status_items(full: bool) -> list[Row]:
    data = _run(
        ["bench/status_items.py", "--sizes", _size("10000", "2000")] + (["--full"] if full else [])
    )
    return [
        (
            "`bench/status_items.py`",
            f"{r['backend']}: `pingan status --items --json` streaming {_n(r['items'])} items "
            f"({_n(r['cells'])} cells) vs `status --json` counts only, peak RSS",
            f"{r['items_run']['peak_rss_mb']} MB vs {r['baseline']['peak_rss_mb']} MB "
            f"({r['items_run']['seconds']} s, {_n(r['items_per_s'])} items/s)",
            f"**{round(r['items_run']['peak_rss_mb'] / r['baseline']['peak_rss_mb'], 2)}×**",
            f"< {data['target_rss_mb']} MB at 1M",
        )
        for r in data["results"]
    ]


BENCHES: dict[str, Callable[[bool], list[Row]]] = {
    "load": load,
    "tick": tick,
    "status_items": status_items,
    "intake": intake,
    "dispatch": dispatch,
    "award": award,
    "portal": portal,
    "abuse": abuse,
    "demo": demo,
}


def table(rows: list[Row], full: bool, only: list[str] | None = None) -> str:
    cpu = _cpu_model()
    partial = (
        f" (the {', '.join(only)} rows last refreshed with `--only {' '.join(only)}`)"
        if only
        else ""
    )
    lines = [
        f"Produced by `bench/run_all.py{' --full' if full else ''}`{partial} on "
        f"{datetime.now(UTC):%Y-%m-%d}: {os.cpu_count()} CPUs ({cpu}), Python "
        f"{platform.python_version()}, {platform.system()} {platform.release()}. Each figure is "
        "compared with a baseline measured in the same run.",
        "",
        "| benchmark | what is measured | figure vs baseline | ratio | target |",
        "|---|---|---|---|---|",
    ]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.machine()


LABELS = {
    "load": "`bench/load_roster.py`",
    "tick": "`bench/tick.py`",
    "status_items": "`bench/status_items.py`",
    "intake": "`bench/intake.py`",
    "dispatch": "`bench/dispatch.py`",
    "award": "`bench/award.py`",
    "portal": "`bench/portal.py`",
    "abuse": "`bench/abuse.py`",
    "demo": "`pingan demo`",
}


def kept_rows(rerun: list[str]) -> list[Row]:
    """Rows of the README's table from benchmarks not run this time (``--only``), so a
    partial run updates its own rows and leaves the others' figures as they were."""
    text = README.read_text(encoding="utf-8")
    if START not in text:
        return []
    block = text.split(START, 1)[1].split(END, 1)[0]
    skip = {LABELS[name] for name in rerun}
    rows: list[Row] = []
    for line in block.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split(" | ")]
        if len(cells) == 5 and cells[0].startswith("`") and cells[0] not in skip:
            rows.append((cells[0], cells[1], cells[2], cells[3], cells[4]))
    return rows


def write_readme(markdown: str) -> None:
    text = README.read_text(encoding="utf-8")
    if START not in text or END not in text:
        raise SystemExit(f"README.md has no {START} … {END} markers")
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    README.write_text(f"{head}{START}\n{markdown}\n{END}{tail}", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    size = ap.add_mutually_exclusive_group()
    size.add_argument("--full", action="store_true", help="1M-cell ticks, all 90k certificates")
    size.add_argument("--smoke", action="store_true", help="tiny sizes (CI); no README")
    ap.add_argument("--only", nargs="+", choices=list(BENCHES))
    ap.add_argument("--no-readme", action="store_true")
    ap.add_argument("--json", type=Path, help="also write every row as JSON here")
    args = ap.parse_args(argv)
    global SMOKE
    SMOKE = args.smoke
    # The demo's figure is its whole 2,000-cell run; the tests run the demo already.
    names = args.only or [n for n in BENCHES if not (SMOKE and n == "demo")]
    rows: list[Row] = []
    failures = []
    for name in names:
        print(f"running {name} …", file=sys.stderr, flush=True)
        try:
            rows += BENCHES[name](args.full)
        except Exception as exc:  # one broken benchmark must not lose the others' figures
            failures.append(f"{name}: {exc}")
            print(f"{name} failed: {exc}", file=sys.stderr)
    if args.only:
        order = list(LABELS.values())
        rows = sorted(kept_rows(names) + rows, key=lambda r: order.index(r[0]))
    markdown = table(rows, args.full, args.only)
    print(markdown)
    if args.json:
        args.json.write_text(json.dumps(rows, ensure_ascii=False, indent=2), encoding="utf-8")
    if not args.no_readme and not args.smoke and not failures:
        write_readme(markdown)
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())

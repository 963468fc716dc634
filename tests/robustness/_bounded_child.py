"""Child process for the input-bomb tests: reads one hostile file the way a command would,
under an address-space limit of MEMORY_BUDGET above what the imports already take, and
prints what happened as JSON (elapsed seconds, growth of peak RSS, the problems reported).

Usage: python -m tests.robustness._bounded_child {campaign,roster,scores} PATH
"""

from __future__ import annotations

import json
import resource
import sys
import time
from datetime import date
from pathlib import Path

from pingan.adapters.intake.roster import read_roster
from pingan.adapters.intake.scores import read_scores
from pingan.core.campaign import load_campaign
from pingan.core.problems import InputError

SEED = Path(__file__).resolve().parents[2] / "config" / "campaigns" / "xucheng-2017.yaml"
MEMORY_BUDGET = 200 * 1024 * 1024


def _vm_size() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmSize:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmSize")


def _read(kind: str, path: Path) -> list[str]:
    campaign = load_campaign(SEED)
    if kind == "campaign":
        try:
            load_campaign(path)
        except InputError as exc:
            return [str(p) for p in exc.problems]
        return []
    if kind == "roster":
        return [str(p) for p in read_roster(path, campaign).problems]
    result = read_scores(
        path, campaign, {}, today=date(2017, 11, 20), window=(date(2017, 11, 1), date(2017, 11, 30))
    )
    return [str(p) for p in result.problems]


def main() -> None:
    kind, path = sys.argv[1], Path(sys.argv[2])
    _read(kind, SEED if kind == "campaign" else Path("/nonexistent.csv"))  # warm every import
    limit = _vm_size() + MEMORY_BUDGET
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    problems = _read(kind, path)
    elapsed = time.perf_counter() - started
    rss_growth_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before
    print(json.dumps({"elapsed": elapsed, "rss_growth_kb": rss_growth_kb, "problems": problems}))


if __name__ == "__main__":
    main()

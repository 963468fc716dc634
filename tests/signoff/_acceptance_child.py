"""The acceptance flow in a process of its own, as a worker runs it, against the Prefect
server in PREFECT_API_URL and the database in PINGAN_DATABASE_URL.

    python -m tests.signoff._acceptance_child CAMPAIGN AS_OF OUT.json

Writes the flow's result (or the Chinese reason it ended) to OUT.json; exit code 0 when the
flow completed.
"""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path


def main(campaign: str, as_of: str, out: str) -> int:
    import flows.acceptance
    from flows.outputs import AcceptanceOutput

    flows.acceptance.POLL_S = 1
    result = flows.acceptance.acceptance(
        campaign=campaign, as_of=date.fromisoformat(as_of), timeout_hours=0.1
    )
    ok = isinstance(result, AcceptanceOutput)
    data = result.model_dump(mode="json") if ok else {"state": str(result)}
    Path(out).write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))

"""Benchmark minting SMS short links (pingan.adapters.db.short_links.short_links) for N
requests against signing the same N personal links (what the sender does today without
them), same run, each backend: the first mint (all rows new) and a repeat (all present).

Prints one JSON object.

    .venv/bin/python bench/short_links.py [--cells 2000] [--days 5] [--backend sqlite postgresql]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _common import SEED, backends, emit, fresh_database, machine, timed
from pydantic import SecretStr
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from pingan.adapters.db.short_links import short_links
from pingan.adapters.db.units import UnitRow
from pingan.core.campaign import load_campaign
from pingan.core.links import personal_link
from pingan.core.short_links import ShortLinkRequest
from pingan.root import Settings
from pingan.services.load import load
from pingan.services.synth import write_roster

MOMENT = datetime(2017, 6, 1, 2, 0, tzinfo=UTC)
PORTAL = Settings.model_validate(
    {
        "portal_base_url": "https://pa.example.cn/",
        "portal_secret": SecretStr("bench-portal-secret-0123456789abcdef-xyz"),
        "portal_link_days": 60,
    }
)


def mint(engine: Engine, requests: dict[Any, ShortLinkRequest]) -> dict[Any, str | None]:
    campaign = load_campaign(SEED)
    with Session(engine) as session, session.begin():
        return short_links(session, campaign, PORTAL, requests)


def run(backend: str, cells: int, days: int, workdir: Path) -> dict[str, Any]:
    campaign = load_campaign(SEED)
    roster = workdir / "roster.csv"
    write_roster(campaign, cells, 2017, roster)
    with fresh_database(backend, workdir) as engine:
        load(engine, SEED, roster, actor="bench")
        with engine.connect() as conn:
            units = list(conn.scalars(select(UnitRow.code).where(UnitRow.kind == "cell")))
        requests = {
            (u, d): ShortLinkRequest(u, 1, MOMENT + timedelta(days=d))
            for u in units
            for d in range(days)
        }
        base_s, _ = timed(
            lambda: [
                personal_link(campaign.code, r.unit, r.version, r.moment, PORTAL)
                for r in requests.values()
            ]
        )
        first_s, first = timed(lambda: mint(engine, requests))
        again_s, again = timed(lambda: mint(engine, requests))
        assert first == again and None not in first.values()
    return {
        "backend": backend,
        "links": len(requests),
        "baseline_sign_s": round(base_s, 3),
        "mint_s": round(first_s, 3),
        "mint_ratio": round(first_s / base_s, 1),
        "remint_s": round(again_s, 3),
        "remint_ratio": round(again_s / base_s, 1),
        "mint_us_per_link": round(first_s / len(requests) * 1e6),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cells", type=int, default=2000)
    parser.add_argument("--days", type=int, default=5)
    parser.add_argument("--backend", nargs="+")
    args = parser.parse_args()
    results = []
    for backend in backends(args.backend):
        with tempfile.TemporaryDirectory() as tmp:
            results.append(run(backend, args.cells, args.days, Path(tmp)))
    emit({"bench": "short_links", "machine": machine(), "results": results})


if __name__ == "__main__":
    main()

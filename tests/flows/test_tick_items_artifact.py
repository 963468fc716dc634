"""The tick publishes its most overdue items as a bounded table artifact."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
from prefect.client.schemas.sorting import ArtifactSort
from sqlalchemy import text

from flows.tick import tick
from pingan.adapters.db.session import make_engine
from pingan.core.campaign import load_campaign
from pingan.services.load import load
from pingan.services.synth import write_roster
from pingan.services.tick import WORST_ITEMS

KEY = "xucheng-2017-overdue-items"


def test_the_tick_artifact_lists_the_most_overdue_items_up_to_a_bound(
    pingan_env: str, seed_config: Path, tmp_path: Path
) -> None:
    roster = tmp_path / "roster.csv"
    write_roster(load_campaign(seed_config), 120, 7, roster)
    engine = make_engine(pingan_env)
    load(engine, seed_config, roster)
    tick(campaign="xucheng-2017", as_of=date(2017, 11, 6))
    with engine.connect() as conn:
        overdue = conn.execute(
            text("SELECT count(*), max(days_overdue) FROM obligation WHERE status = 'overdue'")
        ).one()
    engine.dispose()
    with get_client(sync_client=True) as client:
        # The newest artifact of this key: the session's server holds many, from other tests.
        [artifact] = client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[KEY])),
            sort=ArtifactSort.CREATED_DESC,
            limit=1,
        )
    rows = json.loads(artifact.data) if isinstance(artifact.data, str) else artifact.data
    assert overdue[0] > WORST_ITEMS  # the bound is what keeps the artifact small
    assert len(rows) == WORST_ITEMS
    assert int(rows[0]["逾期工作日"]) == overdue[1]
    assert f"逾期事项 {overdue[0]} 项" in (artifact.description or "")

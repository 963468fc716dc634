"""Rates in JSON are null until there is something to divide by, never a fake 0.0."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from sqlalchemy import Engine

from pingan.services.tick import current_status
from tests.factories import load_seed

DAY = date(2017, 11, 1)


def test_pass_rate_is_null_while_cells_are_covered_but_none_assessed(
    engine: Engine, tmp_path: Path
) -> None:
    db = load_seed(engine, tmp_path, cells=20)
    reported = [o for o in db.obligations("self-check") if o.kind == "cell"][:5]
    for o in reported:
        db.set_done(o.id, date(2017, 10, 20))
    report = current_status(engine, db.handle, DAY)
    assert report["overall"]["covered"] == 5
    assert report["overall"]["coverage"] is not None
    assert (report["overall"]["pass_rate"], report["overall"]["pass_rate_met"]) == (None, None)
    assert all(d["pass_rate"] is None for d in report["domains"].values())

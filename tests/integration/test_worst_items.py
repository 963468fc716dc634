"""The tick artifact's worst items and overdue counts per level (pingan.adapters.db.worst_items)
give what sorting and counting every overdue item of an active unit gives, whichever way
they read them — on SQLite and PostgreSQL.

The seed campaign with 30 cells, ticked on 2017-06-01 (its plans overdue); the days overdue
are then set by plain SQL to make ties many, few or none at the cut-off.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from pingan.adapters.db import worst_items
from pingan.adapters.db.units import UnitRow
from pingan.adapters.db.worst_items import overdue_counts, worst_item_ids
from tests.factories import Loaded, load_seed

DAY = date(2017, 6, 1)


@pytest.fixture(autouse=True, params=["walk units", "sort items"])
def way(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Both ways of reading the items at the cut-off, whatever the number of ties."""
    monkeypatch.setattr(worst_items, "MANY_TIES", 0.0 if request.param == "walk units" else 2.0)


@pytest.fixture
def db(engine: Engine, tmp_path: Path) -> Loaded:
    loaded = load_seed(engine, tmp_path, cells=30)
    loaded.tick(DAY)
    return loaded


def expected(db: Loaded, n: int, domain_only: int | None = None) -> list[int]:
    rows = db.rows(
        "SELECT o.id, o.days_overdue, u.code, o.gate_id, u.domain_id FROM obligation o"
        " JOIN unit u ON u.id = o.unit_id WHERE o.campaign_id = :c AND o.status = 'overdue'"
        " AND u.status = 'active'"
    )
    if domain_only is not None:
        rows = [r for r in rows if r.domain_id == domain_only]
    return [r.id for r in sorted(rows, key=lambda r: (-r.days_overdue, r.code, r.gate_id))][:n]


def worst(db: Loaded, n: int, terms: list[Any] | None = None) -> list[int]:
    """The ids worst_item_ids gives, checked to be the same with the counts read beforehand
    (as the tick does) and without."""
    with Session(db.engine) as session:
        alone = worst_item_ids(session, db.cid, terms or [], n)
        counted = overdue_counts(session, db.cid)
        assert worst_item_ids(session, db.cid, terms or [], n, counted) == alone
        return alone


def spread(db: Loaded) -> None:
    """Days overdue all different: at most one item at the cut-off."""
    db.execute(
        "UPDATE obligation SET days_overdue = id * 7 % 101 + 1"
        " WHERE campaign_id = :c AND status = 'overdue'"
    )


def test_all_tied_gives_the_first_units_by_code(db: Loaded) -> None:
    db.execute(
        "UPDATE obligation SET days_overdue = 4 WHERE campaign_id = :c AND status = 'overdue'"
    )
    assert worst(db, 10) == expected(db, 10)


def test_a_few_above_the_cut_off_come_first_then_the_tied_by_code(db: Loaded) -> None:
    db.execute(
        "UPDATE obligation SET days_overdue = 4 WHERE campaign_id = :c AND status = 'overdue'"
    )
    ids = [
        r.id
        for r in db.rows(
            "SELECT id FROM obligation WHERE campaign_id = :c AND status = 'overdue' ORDER BY id DESC"  # noqa: E501
        )
    ]
    for i, oid in enumerate(ids[:3]):
        db.execute(f"UPDATE obligation SET days_overdue = {9 + i} WHERE id = {oid}")
    assert worst(db, 10) == expected(db, 10)


def test_distinct_days_are_sorted_from_the_obligations(db: Loaded) -> None:
    spread(db)
    assert worst(db, 10) == expected(db, 10)


def test_fewer_overdue_items_than_asked_gives_them_all(db: Loaded) -> None:
    spread(db)
    total = db.scalar(
        "SELECT count(*) FROM obligation WHERE campaign_id = :c AND status = 'overdue'"
    )
    assert worst(db, total + 50) == expected(db, total + 50)
    assert len(worst(db, total + 50)) == total


def test_items_of_a_withdrawn_unit_are_left_out(db: Loaded) -> None:
    spread(db)
    top = expected(db, 1)[0]
    db.execute(
        "UPDATE unit SET status = 'withdrawn' WHERE id = (SELECT unit_id FROM obligation"
        f" WHERE id = {top})"
    )
    got = worst(db, 10)
    assert top not in got and got == expected(db, 10)


def test_a_filter_on_the_unit_narrows_the_items(db: Loaded) -> None:
    spread(db)
    dom = db.scalar("SELECT min(domain_id) FROM unit WHERE campaign_id = :c AND kind = 'cell'")
    assert worst(db, 5, [UnitRow.domain_id == dom]) == expected(db, 5, domain_only=dom)


def test_overdue_counts_per_level_and_days_are_those_of_active_units(db: Loaded) -> None:
    db.execute(
        "UPDATE unit SET status = 'withdrawn' WHERE id = (SELECT min(unit_id) FROM obligation"
        " WHERE campaign_id = :c AND status = 'overdue')"
    )
    spread(db)
    levels: dict[int, int] = {}
    days: dict[int, int] = {}
    for level, d in db.rows(
        "SELECT o.escalation_level, o.days_overdue FROM obligation o JOIN unit u"
        " ON u.id = o.unit_id WHERE o.campaign_id = :c AND o.status = 'overdue'"
        " AND u.status = 'active'"
    ):
        levels[level] = levels.get(level, 0) + 1
        days[d] = days.get(d, 0) + 1
    with Session(db.engine) as session:
        counted = overdue_counts(session, db.cid)
    assert counted.by_level == levels and counted.by_days == sorted(days.items())
    assert len(days) > 1

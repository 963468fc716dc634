"""A batch's texts on PostgreSQL come through the driver: the same rows, under the same
names, as SQLAlchemy's execution of the same statement gives."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import Engine, text

from pingan.adapters.outbox import freeze
from tests.factories import load_seed


def test_the_driver_gives_the_rows_sqlalchemy_gives(engine: Engine, tmp_path: Path) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite reads the texts through SQLAlchemy")
    loaded = load_seed(engine, tmp_path, cells=20)
    loaded.tick(date(2017, 5, 22))
    today = date(2017, 5, 23)
    with engine.connect() as conn:
        ids = list(conn.execute(text("SELECT id FROM notification ORDER BY id")).scalars())
        assert len(ids) > 5
        run: Any = SimpleNamespace(conn=conn)
        got = freeze._load(run, ids, today)
        want = conn.execute(freeze._load_statement(True), {"ids": ids, "today": today}).all()
        assert sorted(tuple(r) for r in got) == sorted(tuple(r) for r in want)
        assert got[0]._fields == tuple(want[0]._fields)
        assert {r.id for r in got} == set(ids)

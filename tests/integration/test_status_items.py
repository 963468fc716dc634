"""`pingan status --items`: per obligation its status, ladder level, next rung and the day
it is reached, and the last message sent about it — on SQLite and PostgreSQL.

The seed campaign (ladder 1 → unit, 3 → lead unit, 5 → coordinator, then every 5) with a
20-cell roster, ticked and delivered through the file channel (every unit reachable).
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from pingan.adapters.channels.file import FileChannel
from pingan.cli.app import app
from pingan.core.links import PortalSettings
from pingan.services.dispatch import Delivery, run_dispatch
from pingan.services.tick import ItemFilter, status_items
from tests.factories import CAL, SEED_CODE, Loaded, load_seed

FIRST = date(2017, 5, 22)  # local-plan (due 05-15) is 5 working days overdue


class NoPortal:
    portal_base_url: str | None = None
    portal_secret = None
    portal_link_days = 30


@pytest.fixture
def db(engine: Engine, tmp_path: Path) -> Loaded:
    return load_seed(engine, tmp_path, cells=20)


def deliver(db: Loaded, tmp_path: Path) -> None:
    portal: PortalSettings = NoPortal()
    run_dispatch(
        db.engine,
        db.handle,
        Delivery({"file": FileChannel(tmp_path / "sent.jsonl")}, override="file"),
        portal,
        respect_quiet_hours=False,
    )


def items(db: Loaded, as_of: date, **filters: Any) -> list[dict[str, Any]]:
    return list(status_items(db.engine, db.handle, as_of, ItemFilter(**filters)))


def test_an_overdue_item_names_its_next_rung_and_the_working_day_it_is_reached(
    db: Loaded,
) -> None:
    db.tick(FIRST)
    late = [i for i in items(db, FIRST) if i["gate"]["key"] == "local-plan"]
    cell = next(i for i in late if i["unit"]["kind"] == "cell")
    due = date.fromisoformat(cell["due_on"])
    assert cell["status"] == "overdue"
    assert cell["days_overdue"] == CAL.working_days_between(due, FIRST)
    rung = cell["next_rung"]
    assert rung["level"] == cell["level"] + 1
    assert rung["on"] == CAL.add_working_days(due, rung["after_days"]).isoformat()
    # Level 4 of the seed's repeating ladder is the unit itself again.
    assert (rung["level"], rung["target"], rung["to"]["code"]) == (
        4,
        "contact",
        cell["unit"]["code"],
    )


def test_an_open_item_would_first_reach_rung_one_the_working_day_after_its_due_date(
    db: Loaded,
) -> None:
    db.tick(FIRST)
    item = next(i for i in items(db, FIRST) if i["gate"]["key"] == "self-check")
    assert item["status"] in ("open", "not_open")
    due = date.fromisoformat(item["due_on"])
    assert item["next_rung"]["level"] == 1
    assert item["next_rung"]["on"] == CAL.add_working_days(due, 1).isoformat()


def test_the_last_message_is_the_latest_that_reached_someone_and_unseen_until_opened(
    db: Loaded, tmp_path: Path
) -> None:
    db.tick(date(2017, 5, 16))  # one working day overdue: the unit's own escalation
    assert all(i["last_message"] is None for i in items(db, date(2017, 5, 16)))
    deliver(db, tmp_path)
    first = next(
        i for i in items(db, date(2017, 5, 16), status="overdue") if i["unit"]["kind"] == "cell"
    )
    msg = first["last_message"]
    assert (msg["kind"], msg["to"]["code"], msg["channels"], msg["seen"]) == (
        "escalation",
        first["unit"]["code"],
        ["file"],
        False,
    )
    db.tick(date(2017, 5, 18))  # three working days: the lead unit's digest lists it
    deliver(db, tmp_path)
    again = next(
        i
        for i in items(db, date(2017, 5, 18), status="overdue")
        if i["unit"]["code"] == first["unit"]["code"]
    )
    lead = db.scalar(
        "SELECT s.code FROM unit u JOIN unit s ON s.id = u.supervisor_id WHERE u.code = :k",
        k=first["unit"]["code"],
    )
    assert (again["last_message"]["kind"], again["last_message"]["to"]["code"]) == (
        "digest",
        lead,
    )
    assert again["last_message"]["on"] == "2017-05-18"


def test_filters_narrow_the_list_and_a_filter_naming_nothing_is_refused(db: Loaded) -> None:
    db.tick(FIRST)
    everything = items(db, FIRST)
    overdue = items(db, FIRST, status="overdue")
    assert overdue and len(overdue) < len(everything)
    assert {i["status"] for i in overdue} == {"overdue"}
    village = next(i["village"]["code"] for i in everything if i["village"])
    assert {i["village"]["code"] for i in items(db, FIRST, village=village)} == {village}
    assert {i["domain"] for i in items(db, FIRST, domain="campus")} == {"campus"}
    assert {i["level"] for i in items(db, FIRST, level=3)} == {3}


def run(*args: str) -> Any:
    return CliRunner().invoke(app, list(args), env={"COLUMNS": "250"})


def test_cli_writes_one_json_object_per_line_and_refuses_an_unknown_domain(
    db: Loaded, db_url: str
) -> None:
    db.tick(FIRST)
    result = run("status", SEED_CODE, "--as-of", "2017-05-22", "--items", "--json", "--db", db_url)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert len(lines) == len(items(db, FIRST))
    assert all(json.loads(line)["unit"]["code"] for line in lines)
    bad = run("status", SEED_CODE, "--as-of", "2017-05-22", "--domain", "nosuch", "--db", db_url)
    assert bad.exit_code == 2
    assert "领域 nosuch 不存在" in bad.output
    assert "Traceback" not in bad.output


def test_the_item_list_knows_every_channel_name() -> None:
    from typing import get_args

    from pingan.adapters.channels.base import ChannelName
    from pingan.adapters.db.status_item_rows import CHANNELS

    assert set(CHANNELS) == set(get_args(ChannelName))

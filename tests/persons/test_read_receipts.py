"""Read receipts (签收): opening a unit's personal link in the portal records a view, and a
message counts as seen once its unit's link was opened at or after it was sent."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from pingan.adapters.channels.file import FileChannel
from pingan.adapters.db.links import record_view
from pingan.adapters.db.status import status_report
from pingan.adapters.render.status_table import status_tables
from pingan.services.dispatch import Delivery, run_dispatch
from pingan.services.tick import ItemFilter, status_items
from tests.factories import Loaded, load_seed
from tests.portal.conftest import Clock, make_portal

DAY = date(2017, 5, 16)  # one working day overdue: each late unit's own escalation


class NoPortal:
    portal_base_url: str | None = None
    portal_secret = None
    portal_link_days = 30


@pytest.fixture
def db(engine: Engine, tmp_path: Path) -> Loaded:
    db = load_seed(engine, tmp_path, cells=12)
    db.tick(DAY)
    run_dispatch(
        db.engine,
        db.handle,
        Delivery({"file": FileChannel(tmp_path / "sent.jsonl")}, override="file"),
        NoPortal(),
        respect_quiet_hours=False,
    )
    return db


def late_cells(db: Loaded) -> dict[str, Any]:
    """The last message of each overdue cell's item, by unit code."""
    return {
        i["unit"]["code"]: i["last_message"]
        for i in status_items(db.engine, db.handle, DAY, ItemFilter(status="overdue"))
        if i["unit"]["kind"] == "cell"
    }


def test_a_sent_message_is_unseen_until_the_units_link_is_opened(
    db: Loaded, tmp_path: Path
) -> None:
    before = late_cells(db)
    assert before and {m["seen"] for m in before.values()} == {False}
    code = sorted(before)[0]
    portal = make_portal(db, tmp_path / "portal", Clock(datetime.now(UTC) + timedelta(minutes=1)))
    assert portal.client.get(portal.url(code)).status_code == 200
    after = late_cells(db)
    assert after[code]["seen"] is True
    assert {m["seen"] for c, m in after.items() if c != code} == {False}


def test_each_opening_of_a_link_is_counted_on_one_row(db: Loaded, tmp_path: Path) -> None:
    code = sorted(late_cells(db))[0]
    portal = make_portal(db, tmp_path / "portal", Clock(datetime.now(UTC) + timedelta(minutes=1)))
    for _ in range(3):
        portal.client.get(portal.url(code))
    (row,) = db.rows(
        "SELECT v.views FROM link_view v JOIN unit u ON u.id = v.unit_id WHERE u.code = :k",
        k=code,
    )
    assert row.views == 3


def test_an_opening_before_the_message_was_sent_does_not_count(db: Loaded) -> None:
    code = sorted(late_cells(db))[0]
    with db.engine.connect() as conn:
        record_view(conn, db.cid, db.unit_id(code), datetime(2017, 5, 1, 9))
        conn.commit()
    assert late_cells(db)[code]["seen"] is False


def test_a_lead_units_digest_marks_the_items_of_units_that_have_not_seen_their_message(
    db: Loaded, tmp_path: Path
) -> None:
    seen_code = sorted(late_cells(db))[0]
    with db.engine.connect() as conn:
        record_view(conn, db.cid, db.unit_id(seen_code), datetime.now(UTC).replace(tzinfo=None))
        conn.commit()
    db.tick(date(2017, 5, 18))  # three working days overdue: the lead units' digests
    sink = tmp_path / "digests.jsonl"
    run_dispatch(
        db.engine,
        db.handle,
        Delivery({"file": FileChannel(sink)}, override="file"),
        NoPortal(),
        respect_quiet_hours=False,
    )
    cells = dict(
        db.rows("SELECT code, name FROM unit WHERE campaign_id = :c AND kind = 'cell'", c=db.cid)
    )
    # The lead units' digests list their cells (the coordinator's lists villages and units).
    lines = [
        line
        for record in map(json.loads, sink.read_text("utf-8").splitlines())
        if "督办汇总" in record["subject"]
        for line in record["body"].splitlines()
        if line.strip().startswith("·") and any(n in line for n in cells.values())
    ]
    seen_lines = [line for line in lines if cells[seen_code] in line]
    others = [line for line in lines if cells[seen_code] not in line]
    assert seen_lines and not any("（未签收）" in line for line in seen_lines)
    assert others and all("（未签收）" in line for line in others)


def test_the_coordinators_digest_marks_the_items_of_units_that_have_not_seen_their_message(
    db: Loaded, tmp_path: Path
) -> None:
    codes = sorted(late_cells(db))
    seen_code = codes[0]
    with db.engine.connect() as conn:
        record_view(conn, db.cid, db.unit_id(seen_code), datetime.now(UTC).replace(tzinfo=None))
        conn.commit()
    db.tick(date(2017, 5, 22))  # five working days overdue: the coordinator's digest
    sink = tmp_path / "digests.jsonl"
    run_dispatch(
        db.engine,
        db.handle,
        Delivery({"file": FileChannel(sink)}, override="file"),
        NoPortal(),
        respect_quiet_hours=False,
    )
    ((coordinator,),) = db.rows(
        "SELECT name FROM unit WHERE campaign_id = :c AND kind = 'coordinator'", c=db.cid
    )
    [body] = [
        r["body"]
        for r in map(json.loads, sink.read_text("utf-8").splitlines())
        if "督办汇总" in r["subject"] and r["body"].splitlines()[0] == f"{coordinator}："
    ]
    names = dict(
        db.rows("SELECT code, name FROM unit WHERE campaign_id = :c AND kind = 'cell'", c=db.cid)
    )
    lines = {c: [x for x in body.splitlines() if f"· {names[c]}——" in x] for c in codes}
    assert all(lines.values())
    assert not any("（未签收）" in x for x in lines[seen_code])
    assert all("（未签收）" in x for c in codes[1:] for x in lines[c])


def test_the_status_report_counts_units_that_saw_their_latest_message(db: Loaded) -> None:
    codes = sorted(late_cells(db))
    with db.engine.connect() as conn:
        record_view(conn, db.cid, db.unit_id(codes[0]), datetime.now(UTC).replace(tzinfo=None))
        conn.commit()
    with Session(db.engine) as session:
        got = status_report(session, db.handle.campaign, db.cid, DAY)["receipts"]
    assert got["seen"] == 1 and got["unseen"] == got["told"] - 1 >= len(codes) - 1
    unseen = {u["code"] for u in got["unseen_units"]}
    assert codes[0] not in unseen and set(codes[1:]) <= unseen


def test_the_status_table_says_how_many_units_signed(db: Loaded) -> None:
    with Session(db.engine) as session:
        report = status_report(session, db.handle.campaign, db.cid, DAY)
    (table,) = [t for t in status_tables(report) if t.title == "通知"]
    told = report["receipts"]["told"]
    assert table.caption == f"最近一条提醒或督办：已签收 0 个单位，未签收 {told} 个"

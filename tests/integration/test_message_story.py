"""One consistent story per message: a message is rendered with the facts of the day it
speaks of (its planned day, stated in the text), however many ticks pass before it is sent.

The seed campaign, 20 cells: local-plan is due Monday 2017-05-15; reminders go 3 and 1
working days before, the lead unit hears at 3 working days overdue.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from pingan.adapters.channels.file import FileChannel
from pingan.adapters.db.messages import render_notifications
from pingan.core.links import PortalSettings
from pingan.services.dispatch import Delivery, run_dispatch
from tests.factories import Loaded, load_seed


class NoPortal:
    portal_base_url: str | None = None
    portal_secret = None
    portal_link_days = 30


@pytest.fixture
def db(engine: Engine, tmp_path: Path) -> Loaded:
    return load_seed(engine, tmp_path, cells=20)


def render_now(db: Loaded, ids: list[int], day: date) -> dict[int, str]:
    with Session(db.engine) as session:
        return {
            m.notification_id: m.body
            for m in render_notifications(
                session, db.handle.campaign, db.cid, ids, day, portal=NoPortal()
            )
        }


def deliver(db: Loaded, sink: Path) -> dict[str, str]:
    """Send everything due; the delivered bodies by dedupe key."""
    portal: PortalSettings = NoPortal()
    run_dispatch(
        db.engine,
        db.handle,
        Delivery({"file": FileChannel(sink)}, override="file"),
        portal,
        respect_quiet_hours=False,
    )
    lines = [json.loads(line) for line in sink.read_text("utf-8").splitlines()]
    return {r["dedupe_key"]: r["body"] for r in lines}


def test_a_reminder_sent_two_ticks_later_still_tells_the_day_it_was_planned(
    db: Loaded, tmp_path: Path
) -> None:
    db.tick(date(2017, 5, 10))  # 3 working days left
    first = db.notifications("reminder")
    before = render_now(db, [n.id for n in first], date(2017, 5, 10))
    db.tick(date(2017, 5, 11))
    db.tick(date(2017, 5, 12))  # 1 working day left: the second reminder
    sent = deliver(db, tmp_path / "sent.jsonl")
    for n in first:
        body = sent[n.dedupe_key]
        assert body == before[n.id]
        assert "截至 2017年5月10日，距截止还有 3 个工作日" in body


def test_a_digest_sent_two_ticks_later_lists_its_own_days_items_and_figures(
    db: Loaded, tmp_path: Path
) -> None:
    db.tick(date(2017, 5, 18))  # 3 working days overdue: the lead units' digests
    digests = db.notifications("digest")
    assert digests
    before = render_now(db, [n.id for n in digests], date(2017, 5, 18))
    late = [o for o in db.obligations("local-plan") if o.kind == "cell"]
    db.set_done(late[0].id, date(2017, 5, 19))  # done after the digest's day: still listed
    db.tick(date(2017, 5, 19))
    db.tick(date(2017, 5, 22))  # 5 working days: the coordinator's rung
    sent = deliver(db, tmp_path / "sent.jsonl")
    for n in digests:
        body = sent[n.dedupe_key]
        assert body == before[n.id]
        assert "截至 2017年5月18日" in body
        assert "逾期 5 个工作日" not in body
        assert "逾期 3 个工作日（第2次督办）" in body

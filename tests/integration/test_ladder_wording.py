"""Ladder-derived wording: each escalation names the next rung's actual target and the day
it is reached, whatever the ladder — never "将提请责任单位督办" to the unit itself."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from pingan.adapters.db.messages import render_notifications
from pingan.services.load import load
from pingan.services.tick import open_campaign
from tests.factories import CAL, SEED_CODE, SEED_CONFIG, Loaded, synth_roster

SEED_LADDER = """    - {after: 1, notify: contact}
    - {after: 3, notify: lead}
    - {after: 5, notify: coordinator}
  repeat_every: 5"""
# The unit twice, then its lead unit; the ladder does not repeat.
SELF_TWICE = """    - {after: 1, notify: contact}
    - {after: 2, notify: contact}
    - {after: 4, notify: lead}"""
DUE = date(2017, 5, 15)  # local-plan


class NoPortal:
    portal_base_url: str | None = None
    portal_secret = None
    portal_link_days = 30


def loaded(engine: Engine, tmp_path: Path, ladder: str) -> Loaded:
    text = SEED_CONFIG.read_text("utf-8")
    assert SEED_LADDER in text
    config = tmp_path / "campaign.yaml"
    config.write_text(text.replace(SEED_LADDER, ladder), "utf-8")
    roster = synth_roster(tmp_path, 20)
    load(engine, config, roster, actor="test")
    return Loaded(engine, open_campaign(engine, SEED_CODE), roster)


def escalations(db: Loaded, day: date) -> list[tuple[int, str, str]]:
    """(level, recipient's supervisor name, body) of the escalations planned on ``day``."""
    db.tick(day)
    ids = [n.id for n in db.notifications("escalation") if n.planned_on == day]
    sup = dict(db.rows("SELECT u.id, s.name FROM unit u JOIN unit s ON s.id = u.supervisor_id"))
    with Session(db.engine) as session:
        msgs = render_notifications(
            session, db.handle.campaign, db.cid, ids, day, portal=NoPortal()
        )
    assert msgs
    return [(m.level, sup[m.recipient_unit_id], m.body) for m in msgs]


def on(n: int) -> str:
    d = CAL.add_working_days(DUE, n)
    return f"{d.year}年{d.month}月{d.day}日"


def test_when_the_next_rung_is_the_unit_again_it_says_so_and_when(
    engine: Engine, tmp_path: Path
) -> None:
    db = loaded(engine, tmp_path, SELF_TWICE)
    for level, _, body in escalations(db, CAL.add_working_days(DUE, 1)):
        assert level == 1
        assert "提请责任单位" not in body
        assert f"至 {on(2)}（逾期 2 个工作日）仍未报送的，将再次督办。" in body
    for level, lead, body in escalations(db, CAL.add_working_days(DUE, 2)):
        assert level == 2
        assert f"至 {on(4)}（逾期 4 个工作日）仍未报送的，将提请{lead}督办。" in body


@pytest.mark.parametrize("ladder", [SEED_LADDER])
def test_the_seeds_first_rung_names_the_lead_unit_and_its_day(
    engine: Engine, tmp_path: Path, ladder: str
) -> None:
    db = loaded(engine, tmp_path, ladder)
    for level, lead, body in escalations(db, CAL.add_working_days(DUE, 1)):
        assert level == 1
        assert f"至 {on(3)}（逾期 3 个工作日）仍未报送的，将提请{lead}督办。" in body

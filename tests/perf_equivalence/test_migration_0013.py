"""Migration 0013 (issue 19, outbox keys) on a database in use, and what the dropped unique
constraint and foreign key guaranteed: each message planned once, a deleted campaign's rows
deleted with it."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from alembic import command
from sqlalchemy import Engine, delete, func, inspect, select
from sqlalchemy.orm import Session

from pingan.adapters.db.base import utcnow
from pingan.adapters.db.campaigns import CampaignRow
from pingan.adapters.db.deliveries import DeliveryRow
from pingan.adapters.db.notifications import NotificationRow, message_key
from pingan.adapters.db.planner.rows import Planning, insert_planned
from pingan.adapters.db.session import alembic_config, current_revision, head_revision, upgrade
from pingan.adapters.db.signoff_links import SignoffLinkRow
from tests.factories import load_seed
from tests.perf_equivalence.outbox_in_use import outbox_in_use

DAY = date(2017, 11, 1)


def _state(engine: Engine) -> tuple[list[tuple[object, ...]], ...]:
    with engine.connect() as conn:
        notes = conn.execute(
            select(
                NotificationRow.id,
                message_key(),  # the stored key at 0012-0014, derived for items from 0015
                NotificationRow.kind,
                NotificationRow.level,
                NotificationRow.obligation_id,
            ).order_by(NotificationRow.id)
        )
        deliveries = conn.execute(
            select(DeliveryRow.id, DeliveryRow.notification_id).order_by(DeliveryRow.id)
        )
        links = conn.execute(
            select(SignoffLinkRow.id, SignoffLinkRow.notification_id).order_by(SignoffLinkRow.id)
        )
        return [tuple(r) for r in notes], [tuple(r) for r in deliveries], [tuple(r) for r in links]


def test_down_and_up_across_0013_keep_the_outbox(engine: Engine, tmp_path: Path) -> None:
    outbox_in_use(engine, tmp_path, [DAY])
    before = _state(engine)
    notes, deliveries, links = before
    assert {n[2] for n in notes} >= {"escalation", "digest"} and deliveries and links[0][1]

    config = alembic_config(engine)
    command.downgrade(config, "0012")
    assert _state(engine) == before
    assert {fk["referred_table"] for fk in inspect(engine).get_foreign_keys("notification")} == {
        "campaign"
    }
    upgrade(engine)
    assert current_revision(engine) == head_revision(engine)
    assert _state(engine) == before
    assert inspect(engine).get_foreign_keys("notification") == []


def test_each_message_is_planned_once_by_either_key(engine: Engine, tmp_path: Path) -> None:
    db = load_seed(engine, tmp_path, cells=5)
    db.tick(DAY)
    with Session(engine) as session, session.begin():
        esc = session.execute(
            select(NotificationRow).where(NotificationRow.kind == "escalation").limit(1)
        ).scalar_one()
        digest = session.execute(
            select(NotificationRow).where(NotificationRow.kind == "digest").limit(1)
        ).scalar_one()
        planning = Planning(db.cid, DAY, utcnow())
        text = ("s", "b")
        # The same item under another text key, and the same text key without an item.
        again = planning.rendered("another:key", "escalation", esc.level, 1, text)
        again["obligation_id"] = esc.obligation_id
        assert insert_planned(session, planning, [again]) == 0
        same_key = planning.rendered(digest.dedupe_key, "digest", 0, 1, text)
        assert insert_planned(session, planning, [same_key]) == 0
        new = planning.rendered("alert:x:y:1", "alert", 0, 1, text)
        assert insert_planned(session, planning, [new, new]) == 1
    assert db.tick(DAY).plan.total == 0  # a second tick on the same day plans nothing
    with engine.connect() as conn:
        key = message_key()
        keys = conn.execute(select(key, func.count()).group_by(key).having(func.count() > 1)).all()
    assert keys == []


def test_deleting_a_campaign_deletes_its_outbox(engine: Engine, tmp_path: Path) -> None:
    db = outbox_in_use(engine, tmp_path, [DAY])
    with engine.begin() as conn:
        assert conn.scalar(select(func.count()).select_from(NotificationRow)) > 0
        conn.execute(delete(CampaignRow).where(CampaignRow.id == db.cid))
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(NotificationRow)) == 0
        assert conn.scalar(select(func.count()).select_from(DeliveryRow)) == 0

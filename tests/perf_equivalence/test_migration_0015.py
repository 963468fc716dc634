"""Migration 0015 (narrow outbox) on a database in use: down and up again keep every
notification, delivery and sign-off link (SQLite rebuilds the table, whose cascade would
delete the deliveries), and every message goes by the same key whether stored or derived."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from alembic import command
from sqlalchemy import Engine, inspect, select

from pingan.adapters.db.deliveries import DeliveryRow
from pingan.adapters.db.notifications import NotificationRow, message_key
from pingan.adapters.db.session import alembic_config, current_revision, head_revision, upgrade
from pingan.adapters.db.signoff_links import SignoffLinkRow
from pingan.adapters.outbox.admin import list_outbox
from tests.perf_equivalence.outbox_in_use import outbox_in_use

DAYS = (date(2017, 5, 10), date(2017, 11, 1))  # reminders, then escalations and digests
N = NotificationRow.__table__.c


def _state(engine: Engine) -> tuple[list[tuple[object, ...]], ...]:
    with engine.connect() as conn:
        notes = conn.execute(
            select(N.id, message_key(), N.kind, N.level, N.obligation_id, N.state).order_by(N.id)
        )
        deliveries = conn.execute(
            select(DeliveryRow.id, DeliveryRow.notification_id).order_by(DeliveryRow.id)
        )
        links = conn.execute(
            select(SignoffLinkRow.id, SignoffLinkRow.notification_id).order_by(SignoffLinkRow.id)
        )
        return [tuple(r) for r in notes], [tuple(r) for r in deliveries], [tuple(r) for r in links]


def _stored_keys(engine: Engine) -> dict[int, Any]:
    with engine.connect() as conn:
        return dict(conn.execute(select(N.id, N.dedupe_key)).all())


def _columns(engine: Engine) -> set[str]:
    return {c["name"] for c in inspect(engine).get_columns("notification")}


def _recipient_index_where(engine: Engine) -> str | None:
    (index,) = [
        i
        for i in inspect(engine).get_indexes("notification")
        if i["name"] == "ix_notification_recipient_unit_id"
    ]
    options = index.get("dialect_options", {})
    where = [str(options[k]) for k in ("sqlite_where", "postgresql_where") if k in options]
    return where[0] if where else None


def test_down_and_up_across_0015_keep_the_outbox_and_its_keys(
    engine: Engine, tmp_path: Path
) -> None:
    db = outbox_in_use(engine, tmp_path, DAYS)
    before = _state(engine)
    notes, deliveries, links = before
    assert {n[2] for n in notes} == {"reminder", "escalation", "digest"}
    assert deliveries and links[0][1]
    keys = {n[0]: n[1] for n in notes}
    # Per-item keys read exactly as the planner stored them before 0015.
    letters = {"reminder": "r", "escalation": "e"}
    for _, key, kind, level, obligation, _ in notes:
        if obligation is not None:
            assert key == f"{db.cid}:{letters[kind]}:{obligation}:{level}"
    listed = {e.notification_id: e.dedupe_key for e in list_outbox(engine, db.cid, limit=10**6)}
    assert listed == keys
    items = {n[0] for n in notes if n[4] is not None}
    stored = _stored_keys(engine)
    assert {i for i, k in stored.items() if k is None} == items

    command.downgrade(alembic_config(engine), "0014")
    assert _state(engine) == before
    assert _stored_keys(engine) == keys  # every key stored again, as the planner stored it
    assert "created_at" in _columns(engine)
    assert db.scalar("SELECT count(*) FROM notification WHERE created_at IS NOT NULL") == len(notes)
    assert _recipient_index_where(engine) is None

    upgrade(engine)
    assert current_revision(engine) == head_revision(engine)
    assert _state(engine) == before
    assert _stored_keys(engine) == stored
    assert "created_at" not in _columns(engine)
    assert "obligation_id IS NULL" in str(_recipient_index_where(engine)).replace("(", "")
    assert db.tick(DAYS[-1]).plan.total == 0  # the items are still known as planned

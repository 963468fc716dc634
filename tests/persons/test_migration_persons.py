"""Migration 0007 on a database with deliveries in flight: an email still waiting for its
send to a named contact becomes that person's, so it keeps its personal link."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from sqlalchemy import Engine

from pingan.adapters.db.session import alembic_config, upgrade
from tests.factories import load_seed, synth_roster
from tests.persons.conftest import TICK_DAY, PersonsDb


def test_pending_emails_to_named_contacts_become_personal_after_the_upgrade(
    engine: Engine, tmp_path: Path
) -> None:
    db = load_seed(engine, tmp_path, roster=synth_roster(tmp_path, 20))
    db.tick(TICK_DAY)
    command.downgrade(alembic_config(engine), "0006")
    db.execute(
        "INSERT INTO delivery (notification_id, campaign_id, channel, address, state, attempts,"
        " next_attempt_at, created_at, parts) SELECT n.id, n.campaign_id, 'email', c.email,"
        " 'queued', 0, n.next_attempt_at, n.created_at, 0 FROM notification n"
        " JOIN contact c ON c.unit_id = n.recipient_unit_id WHERE c.email IS NOT NULL"
    )
    db.execute("UPDATE contact SET name = NULL WHERE email LIKE 'syn-v00001%'")
    upgrade(engine)
    rows = PersonsDb(db).deliveries()
    assert rows
    for r in rows:
        shared = r.address.startswith("syn-v00001")
        assert (r.contact_id is None, r.rank) == ((True, None) if shared else (False, 3))

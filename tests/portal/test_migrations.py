"""The Alembic migrations build exactly the schema the models describe (portal_link included)."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect

from pingan.adapters.db.models import Base
from pingan.adapters.db.session import current_revision, head_revision, upgrade


def test_migrating_to_head_leaves_no_difference_from_the_models(engine: Engine) -> None:
    upgrade(engine)

    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)

    assert differences == []
    assert current_revision(engine) == head_revision(engine)


def test_downgrading_the_portal_migration_drops_only_its_table(engine: Engine) -> None:
    from alembic import command

    from pingan.adapters.db.session import alembic_config

    upgrade(engine)

    command.downgrade(alembic_config(engine), "0002")

    tables = set(inspect(engine).get_table_names())
    assert "portal_link" not in tables
    assert {"unit", "delivery", "audit_event"} <= tables
    upgrade(engine)
    assert "portal_link" in set(inspect(engine).get_table_names())

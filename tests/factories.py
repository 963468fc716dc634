"""Builders shared by the tick tests: the seed campaign loaded with a synthetic roster,
plus small SQL helpers so a test can read and poke rows without the ORM."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select, text

from pingan.adapters.db.base import table
from pingan.adapters.db.campaigns import GateRow
from pingan.adapters.db.notifications import NotificationRow, message_key
from pingan.adapters.db.obligations import ObligationRow
from pingan.adapters.db.units import UnitRow
from pingan.core.calendar import WorkingCalendar
from pingan.core.campaign import Campaign, load_campaign
from pingan.core.gates import Ladder, status_of
from pingan.services.load import load
from pingan.services.synth import write_roster
from pingan.services.tick import CampaignHandle, TickResult, evaluate_and_plan, open_campaign

ROOT = Path(__file__).resolve().parent.parent
SEED_CONFIG = ROOT / "config" / "campaigns" / "xucheng-2017.yaml"
SEED_CODE = "xucheng-2017"
# The seed's calendar mode is "cn" and config/calendars/ has no file for 2017.
CAL = WorkingCalendar("cn")
TABLES = (
    "campaign",
    "domain",
    "phase",
    "gate",
    "unit",
    "contact",
    "domain_unit",
    "obligation",
    "submission",
    "notification",
    "audit_event",
    "campaign_lock",
    "workday",
)


@cache
def seed_campaign() -> Campaign:
    return load_campaign(SEED_CONFIG)


def seed_ladder() -> Ladder:
    return Ladder.of(seed_campaign())


def days(first: date, last: date) -> Iterator[date]:
    d = first
    while d <= last:
        yield d
        d += timedelta(days=1)


def synth_roster(directory: Path, cells: int, seed: int = 2017, name: str = "roster.csv") -> Path:
    path = directory / name
    write_roster(seed_campaign(), cells, seed, path)
    return path


def read_csv(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.reader(f))


def write_csv(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f, lineterminator="\n").writerows(rows)
    return path


def expected_row(
    as_of: date,
    opens_on: date,
    due_on: date,
    done_on: date | None,
    waived: bool,
    campaign: Campaign | None = None,
) -> tuple[str, int, int, int]:
    """(status, wd_offset, days_overdue, escalation_level) by the pure rules."""
    c = campaign or seed_campaign()
    offset = CAL.working_days_between(due_on, as_of)
    status = status_of(
        as_of=as_of,
        opens_on=opens_on,
        due_on=due_on,
        done_on=done_on,
        waived=waived,
        wd_offset=offset,
        window=max(c.reminders.days_before),
    )
    overdue = status == "overdue"
    # The stored offset is kept only while the item is open (see pingan.adapters.db.evaluate).
    live = status in ("open", "due_soon", "overdue")
    return (
        status,
        offset if live else 0,
        offset if overdue else 0,
        Ladder.of(c).level_for(offset) if overdue else 0,
    )


def as_date(value: Any) -> date | None:
    """Raw SQL on SQLite returns dates as text; typed columns return dates."""
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


@dataclass(repr=False)
class Loaded:
    """The seed campaign in a database, with helpers that read it by plain SQL."""

    engine: Engine
    handle: CampaignHandle
    roster: Path

    def __repr__(self) -> str:
        return f"Loaded({self.engine.url!r}, campaign_id={self.cid})"

    @property
    def cid(self) -> int:
        return self.handle.campaign_id

    def rows(self, sql: str, **params: Any) -> list[Any]:
        with self.engine.connect() as conn:
            return list(conn.execute(text(sql), {"c": self.cid, **params}))

    def scalar(self, sql: str, **params: Any) -> Any:
        with self.engine.connect() as conn:
            return conn.execute(text(sql), {"c": self.cid, **params}).scalar()

    def execute(self, sql: str, params: Any = None) -> None:
        with self.engine.begin() as conn:
            conn.execute(text(sql), params if params is not None else {"c": self.cid})

    def count(self, table: str) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())

    def counts(self) -> dict[str, int]:
        return {t: self.count(t) for t in TABLES}

    def tick(self, as_of: date, **kwargs: Any) -> TickResult:
        from pingan import root

        kwargs.setdefault("portal", root.settings())
        return evaluate_and_plan(self.engine, self.handle, as_of, **kwargs)

    def unit_id(self, code: str) -> int:
        return int(self.scalar("SELECT id FROM unit WHERE campaign_id = :c AND code = :k", k=code))

    def obligations(self, gate: str | None = None) -> list[Any]:
        """Obligation rows with gate key, unit code/kind/status and supervisor (typed)."""
        o, g, u = ObligationRow.__table__.c, GateRow.__table__.c, UnitRow.__table__.c
        query = (
            select(
                o.id,
                g.key.label("gate"),
                u.id.label("unit_id"),
                u.code,
                u.kind,
                u.status.label("unit_status"),
                u.supervisor_id,
                u.domain_id,
                o.opens_on,
                o.due_on,
                o.done_on,
                o.waived,
                o.status,
                o.status_as_of,
                o.wd_offset,
                o.days_overdue,
                o.escalation_level,
                o.notified_level,
            )
            .select_from(
                ObligationRow.__table__.join(GateRow.__table__, g.id == o.gate_id).join(
                    UnitRow.__table__, u.id == o.unit_id
                )
            )
            .where(o.campaign_id == self.cid)
            .order_by(o.id)
        )
        if gate is not None:
            query = query.where(g.key == gate)
        with self.engine.connect() as conn:
            return list(conn.execute(query))

    def notifications(self, kind: str | None = None) -> list[Any]:
        n = NotificationRow.__table__.c
        query = (
            select(
                n.id,
                message_key().label("dedupe_key"),
                n.kind,
                n.level,
                n.recipient_unit_id,
                n.obligation_id,
                n.planned_on,
                n.state,
            )
            .where(n.campaign_id == self.cid)
            .order_by(n.id)
        )
        if kind is not None:
            query = query.where(n.kind == kind)
        with self.engine.connect() as conn:
            return list(conn.execute(query))

    def set_done(self, obligation_id: int, done_on: date | None) -> None:
        self.execute(
            "UPDATE obligation SET done_on = :d WHERE id = :i", {"d": done_on, "i": obligation_id}
        )


def key_sql(alias: str = "notification") -> str:
    """message_key as SQL text over ``alias`` (notification or an alias of it), for raw
    queries: the key a message goes by, stored or derived."""
    columns = table(NotificationRow).alias(alias).c
    return str(message_key(columns).compile(compile_kwargs={"literal_binds": True}))


def load_seed(
    engine: Engine, directory: Path, cells: int = 20, seed: int = 2017, roster: Path | None = None
) -> Loaded:
    path = roster or synth_roster(directory, cells, seed)
    load(engine, SEED_CONFIG, path, actor="test")
    return Loaded(engine, open_campaign(engine, SEED_CODE), path)


def vacuum_if_postgres(engine: Engine) -> None:
    """The test PostgreSQL runs with autovacuum off; every tick rewrites each obligation
    row, so a long walk bloats the table unless we do what autovacuum would."""
    if engine.dialect.name != "postgresql":
        return
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE obligation, notification, unit, campaign_lock"))

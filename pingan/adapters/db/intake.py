"""Intake's SQL: a campaign's file gates, the units and obligations a batch of files names,
and the rows that record accepted files. Every statement covers a whole batch, never one
file, so tens of thousands of files cost a few dozen round trips."""

from __future__ import annotations

import contextlib
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, Engine, insert, select, update

from pingan.adapters.db.audit import AuditEventRow
from pingan.adapters.db.campaigns import GateRow
from pingan.adapters.db.obligations import ObligationRow, SubmissionFileRow, SubmissionRow
from pingan.adapters.db.units import UnitRow


@dataclass(frozen=True, slots=True)
class FileGate:
    id: int
    name: str


@dataclass(frozen=True, slots=True)
class UnitState:
    id: int
    status: str


@dataclass(frozen=True, slots=True)
class Obligation:
    id: int
    gate_id: int
    opens_on: date
    due_on: date
    done_on: date | None


@dataclass(frozen=True, slots=True)
class Receipt:
    """What every submission of one intake run shares."""

    campaign_id: int
    received_at: datetime  # naive UTC, as stored
    received_on: date
    source: str


@dataclass(frozen=True, slots=True)
class NewSubmission:
    obligation_id: int
    submitted_by: str | None
    note: str | None
    late: bool


@dataclass(frozen=True, slots=True)
class NewFile:
    obligation_id: int
    sha256: str
    size: int
    original_name: str
    media_type: str


# (obligation id, sha256) -> (submission id, received on) of the row that recorded it.
Recorded = dict[tuple[int, str], tuple[int, date]]


# --- reads ------------------------------------------------------------------------------


def file_gates(engine: Engine, campaign_id: int) -> dict[str, list[FileGate]]:
    """The gates answered with files, by deliverable kind."""
    query = select(GateRow.deliverable, GateRow.id, GateRow.name).where(
        GateRow.campaign_id == campaign_id, GateRow.evidence == "files"
    )
    kinds: dict[str, list[FileGate]] = {}
    with engine.connect() as conn:
        for deliverable, gate_id, name in conn.execute(query):
            kinds.setdefault(deliverable, []).append(FileGate(gate_id, name))
    return kinds


def units_and_obligations(
    engine: Engine, campaign_id: int, codes: Collection[str], gate_ids: Sequence[int]
) -> tuple[dict[str, UnitState], dict[int, list[Obligation]]]:
    """Units by code and their obligations for gate_ids by unit id, for one batch."""
    if not codes:
        return {}, {}
    with engine.connect() as conn:
        units: dict[str, UnitState] = {
            code: UnitState(uid, status)
            for code, uid, status in conn.execute(
                select(UnitRow.code, UnitRow.id, UnitRow.status).where(
                    UnitRow.campaign_id == campaign_id, UnitRow.code.in_(sorted(codes))
                )
            )
        }
        obligations: dict[int, list[Obligation]] = {}
        if units:
            query = select(
                ObligationRow.unit_id,
                ObligationRow.id,
                ObligationRow.gate_id,
                ObligationRow.opens_on,
                ObligationRow.due_on,
                ObligationRow.done_on,
            ).where(
                ObligationRow.unit_id.in_([u.id for u in units.values()]),
                ObligationRow.gate_id.in_(gate_ids),
            )
            for unit_id, oid, gate_id, opens_on, due_on, done_on in conn.execute(query):
                obligations.setdefault(unit_id, []).append(
                    Obligation(oid, gate_id, opens_on, due_on, done_on)
                )
    return units, obligations


# --- writes -----------------------------------------------------------------------------


@contextlib.contextmanager
def durable_transaction(engine: Engine) -> Iterator[Connection]:
    """A transaction that is on disk once it commits, since files are deleted right after.

    SQLite runs WAL with synchronous=NORMAL, where a commit can still be lost on power
    failure; FULL syncs the WAL at each commit, for this connection only.
    """
    with engine.connect() as conn:
        previous: Any = None
        if conn.dialect.name == "sqlite":
            previous = conn.exec_driver_sql("PRAGMA synchronous").scalar()
            conn.exec_driver_sql("PRAGMA synchronous=FULL")
            conn.commit()
        try:
            with conn.begin():
                yield conn
        finally:
            if previous is not None and not conn.invalidated:
                conn.exec_driver_sql(f"PRAGMA synchronous={int(previous)}")
                conn.commit()


def recorded_files(
    conn: Connection, obligation_ids: Collection[int], sha256s: Collection[str]
) -> Recorded:
    """The files already recorded among these obligations and contents."""
    query = (
        select(
            SubmissionFileRow.obligation_id,
            SubmissionFileRow.sha256,
            SubmissionFileRow.submission_id,
            SubmissionRow.received_on,
        )
        .join(SubmissionRow, SubmissionRow.id == SubmissionFileRow.submission_id)
        .where(
            SubmissionFileRow.obligation_id.in_(obligation_ids),
            SubmissionFileRow.sha256.in_(sha256s),
        )
    )
    return {(oid, sha): (sid, on) for oid, sha, sid, on in conn.execute(query)}


def insert_submissions(
    conn: Connection, receipt: Receipt, submissions: Sequence[NewSubmission]
) -> list[int]:
    """Insert the submissions; their ids, in the order given."""
    rows = [
        {
            "campaign_id": receipt.campaign_id,
            "obligation_id": s.obligation_id,
            "received_at": receipt.received_at,
            "received_on": receipt.received_on,
            "late": s.late,
            "source": receipt.source,
            "submitted_by": s.submitted_by,
            "note": s.note,
        }
        for s in submissions
    ]
    statement = insert(SubmissionRow).returning(SubmissionRow.id, sort_by_parameter_order=True)
    return list(conn.execute(statement, rows).scalars().all())


def insert_files(conn: Connection, files: Iterable[tuple[int, NewFile]]) -> None:
    """Insert (submission id, file) pairs."""
    conn.execute(
        insert(SubmissionFileRow),
        [
            {
                "submission_id": submission_id,
                "obligation_id": f.obligation_id,
                "sha256": f.sha256,
                "size": f.size,
                "original_name": f.original_name,
                "media_type": f.media_type,
            }
            for submission_id, f in files
        ],
    )


def insert_audit_events(
    conn: Connection, campaign_id: int, at: datetime, events: Iterable[Mapping[str, Any]]
) -> None:
    """events: actor, action, entity, entity_id and after of each row."""
    conn.execute(
        insert(AuditEventRow),
        [{"campaign_id": campaign_id, "at": at, **event} for event in events],
    )


def mark_done(conn: Connection, obligation_ids: Collection[int], on: date) -> None:
    """Mark the obligations still outstanding as done on the given day."""
    conn.execute(
        update(ObligationRow)
        .where(ObligationRow.id.in_(obligation_ids), ObligationRow.done_on.is_(None))
        .values(done_on=on, status_as_of=None)
    )

"""Recording a batch of accepted files: one durable transaction for its submissions, files,
audit rows and obligations, retried while concurrent writers collide with it."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError

from pingan.adapters.db.intake import (
    NewFile,
    NewSubmission,
    durable_transaction,
    insert_audit_events,
    insert_files,
    insert_submissions,
    mark_done,
    recorded_files,
)
from pingan.adapters.intake.collect.model import Accepted, IntakeRun

# What one write did: (stored, already recorded, submissions made).
Written = tuple[list[Accepted], list[Accepted], int]

# Concurrent writers that collide with this batch; each collision means another batch
# committed, so a few passes always settle (four ticks on one inbox needed three).
_WRITE_TRIES = 10


def record_batch(run: IntakeRun, fresh: list[Accepted]) -> Written:
    """_write_batch, again while a concurrent writer (another worker, or an upload sent
    twice at once) records some of this content between our check and our insert: the
    next pass sees its rows and counts them as duplicates."""
    for _ in range(_WRITE_TRIES - 1):
        try:
            return _write_batch(run, fresh)
        except IntegrityError:
            continue
    return _write_batch(run, fresh)


def _write_batch(run: IntakeRun, fresh: list[Accepted]) -> Written:
    """Record one batch in one transaction; sets the outcome of every file in fresh."""
    with durable_transaction(run.engine) as conn:
        # Checked inside the transaction, so an earlier run that committed but crashed
        # before clearing the inbox makes these duplicates rather than a constraint error.
        recorded = recorded_files(conn, {a.obligation_id for a in fresh}, {a.sha256 for a in fresh})
        stored = [a for a in fresh if a.key not in recorded]
        already = [a for a in fresh if a.key in recorded]
        for a in already:
            a.item.outcome = a.outcome("duplicate", *recorded[a.key])
        if not stored:
            return stored, already, 0

        groups = _submissions(run, stored)
        ids = insert_submissions(conn, run.receipt, list(groups))
        insert_files(
            conn,
            (
                (submission_id, _new_file(a))
                for submission_id, files in zip(ids, groups.values(), strict=True)
                for a in files
            ),
        )
        for submission_id, files in zip(ids, groups.values(), strict=True):
            for a in files:
                a.item.outcome = a.outcome("accepted", submission_id, run.received_on)
        if run.audit is not None:
            audit = run.audit
            events = [audit(o) for a in stored if (o := a.item.outcome) is not None]
            insert_audit_events(conn, run.campaign_id, run.received_utc, events)
        mark_done(conn, {a.obligation_id for a in stored}, run.received_on)
    return stored, already, len(groups)


def _submissions(run: IntakeRun, stored: list[Accepted]) -> dict[NewSubmission, list[Accepted]]:
    """One submission per obligation, sender and note, late if any of its files is."""
    groups: dict[tuple[int, str | None, str | None], list[Accepted]] = {}
    for a in stored:
        by = a.item.submitted_by or run.submitted_by
        groups.setdefault((a.obligation_id, by, a.item.note), []).append(a)
    return {
        NewSubmission(oid, by, note, any(a.late for a in files)): files
        for (oid, by, note), files in groups.items()
    }


def _new_file(a: Accepted) -> NewFile:
    return NewFile(a.obligation_id, a.sha256, a.size, a.item.name, a.media_type)

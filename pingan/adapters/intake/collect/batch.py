"""Taking items through intake a batch at a time: decide which obligation each file
answers, inspect and store it, record the batch, then clear what was recorded.

Work goes in batches: one set of lookups and one transaction per batch, never a query per
file. Everything that decides or counts runs on the calling thread, in order; only reads,
copies and unlinks go to the I/O pool.
"""

from __future__ import annotations

import contextlib
import errno
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from datetime import date
from typing import Any

from pingan.adapters.db.intake import FileGate, Obligation, UnitState, file_gates
from pingan.adapters.db.intake import units_and_obligations as lookup
from pingan.adapters.intake.checks import FileVerdict, check_relative_name, inspect_file
from pingan.adapters.intake.collect.model import (
    DISK_FULL,
    MAX_ORIGINAL_NAME,
    MAX_REJECTIONS_KEPT,
    WAIT_CHANGED,
    Accepted,
    FileOutcome,
    IntakeReport,
    IntakeRun,
    Item,
    problem,
    unreadable,
)
from pingan.adapters.intake.collect.writing import record_batch

# Without per-file fsync the work is small Python steps between syscalls, and threads only
# fight over the GIL (measured: 16 threads 5-6 s, inline 3 s for 10k files). Raise this for
# slow remote (fsspec) inboxes, where each read waits on the network.
_IO_THREADS = 1

Kinds = dict[str, list[FileGate]]

# The disk is full (or the user's quota used up): storing anything more would fail too.
_NO_SPACE = frozenset({errno.ENOSPC, errno.EDQUOT})


_WAIT_SPACE = "磁盘空间不足，留待下次收取"


class _DiskFull(Exception):
    """Raised where a copy ran out of space; args[0] is the store's folder."""


def _no_space(halted: str) -> FileOutcome:
    """The outcome of a file left for lack of space: the portal answers it with 507."""
    return FileOutcome("skipped", reason_code="disk_full", reason=halted)


def process(run: IntakeRun, items: Sequence[Item], report: IntakeReport) -> None:
    """Take every item through intake, setting its outcome and counting it in report.

    When the evidence or quarantine disk fills, what was stored so far is still recorded,
    the rest stays in the inbox for the next run, and report.halted says why."""
    kinds = file_gates(run.engine, run.campaign_id)
    total = len(items)
    with _io_pool() as pool:
        for start in range(0, total, run.batch_size):
            batch = items[start : start + run.batch_size]
            try:
                _process_batch(run, pool, kinds, batch, report)
            except _DiskFull as full:
                report.halted = DISK_FULL.format(where=full.args[0])
            if report.halted is not None:
                for item in items[start:]:
                    if item.outcome is None:
                        item.outcome = _no_space(report.halted)
                        report.skip(item.rel, _WAIT_SPACE)
                return
            if run.progress is not None:
                run.progress(min(start + run.batch_size, total), total)


class _InlineExecutor(Executor):
    """Runs submitted work at once in the calling thread (Executor.map uses submit)."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        future: Future[Any] = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:
            future.set_exception(exc)
        return future


@contextlib.contextmanager
def _io_pool() -> Iterator[Executor]:
    pool: Executor = (
        ThreadPoolExecutor(_IO_THREADS, thread_name_prefix="pingan-intake")
        if _IO_THREADS > 1
        else _InlineExecutor()
    )
    with pool:
        yield pool


def _process_batch(
    run: IntakeRun, pool: Executor, kinds: Kinds, batch: Sequence[Item], report: IntakeReport
) -> None:
    owed = _owed(run, kinds, _candidates(run, kinds, batch, report), report)
    # Reading and storing wait on the disk (above all on fsync) and release the GIL, so
    # threads overlap them; everything that decides or counts stays on this thread, in order.
    verdicts = pool.map(lambda pair: _inspect(run, pair[0]), owed)
    accepted: list[Accepted] = []
    for (item, obligation), verdict in zip(owed, verdicts, strict=True):
        if verdict is None:  # taken away by its sender since the listing
            report.skip(item.rel, WAIT_CHANGED)
            item.outcome = FileOutcome("skipped")
        elif isinstance(verdict, str):
            report.skip(item.rel, verdict)
            item.outcome = FileOutcome("skipped")
        elif not verdict.ok:
            assert verdict.reason_code is not None and verdict.reason is not None
            _reject(run, item, (verdict.reason_code, verdict.reason), report, verdict)
        else:
            assert verdict.sha256 is not None and verdict.detected_type is not None
            accepted.append(
                Accepted(
                    item,
                    obligation.id,
                    verdict.sha256,
                    verdict.size,
                    verdict.detected_type,
                    late=run.received_on > obligation.due_on,
                )
            )
    fresh, duplicates = _store_all(run, pool, accepted, report)
    _record(run, pool, fresh, duplicates, report)


def _candidates(
    run: IntakeRun, kinds: Kinds, batch: Sequence[Item], report: IntakeReport
) -> list[Item]:
    """The items whose name and kind pass; the others are rejected."""
    candidates: list[Item] = []
    for item in batch:
        found = item.problem or _name_problem(item)
        if found is None and item.kind not in kinds:
            found = problem("unknown_kind", kind=item.kind)
        if found is not None:
            _reject(run, item, found, report)
        else:
            candidates.append(item)
    return candidates


def _owed(
    run: IntakeRun, kinds: Kinds, candidates: list[Item], report: IntakeReport
) -> list[tuple[Item, Obligation]]:
    """Each candidate with the obligation it answers; the others are rejected."""
    gate_ids = [g.id for gates in kinds.values() for g in gates]
    units, obligations = lookup(run.engine, run.campaign_id, {i.unit for i in candidates}, gate_ids)
    owed: list[tuple[Item, Obligation]] = []
    for item in candidates:
        gates = kinds[item.kind]
        if item.gate_id is not None:
            gates = [g for g in gates if g.id == item.gate_id]
        chosen = _choose_obligation(run.received_on, gates, units.get(item.unit), obligations, item)
        if isinstance(chosen, tuple):
            _reject(run, item, chosen, report)
        else:
            owed.append((item, chosen))
    return owed


def _store_all(
    run: IntakeRun, pool: Executor, accepted: list[Accepted], report: IntakeReport
) -> tuple[list[Accepted], list[Accepted]]:
    """Store each content once per obligation: (stored, copies of stored content)."""
    firsts: list[Accepted] = []
    duplicates: list[Accepted] = []
    seen: set[tuple[int, str]] = set()
    for a in accepted:
        (duplicates if a.key in seen else firsts).append(a)
        seen.add(a.key)
    # Also for content already recorded: that puts back evidence lost since, and costs one
    # stat when it is there. Storing stops at the first file that does not fit; the ones
    # stored before it are still recorded below.
    stored_ok: list[bool] = []
    for a in firsts:
        if report.halted is not None:
            stored_ok.append(False)
            continue
        try:
            stored_ok.append(_store(run, a))
        except _DiskFull as full:
            report.halted = DISK_FULL.format(where=full.args[0])
            stored_ok.append(False)
    fresh = [a for a, ok in zip(firsts, stored_ok, strict=True) if ok]
    # One filesystem sync for the batch's evidence, before the rows that point at it commit.
    run.evidence.flush()
    # A copy of a file that could not be stored is no duplicate: it must stay for next time.
    kept = {a.key for a in fresh}
    orphans = [a for a in duplicates if a.key not in kept]
    duplicates = [a for a in duplicates if a.key in kept]
    for a in (*firsts, *orphans):
        if a.key in kept:
            continue
        if report.halted is not None:
            a.item.outcome = _no_space(report.halted)
            report.skip(a.item.rel, _WAIT_SPACE)
        else:
            a.item.outcome = FileOutcome("skipped", sha256=a.sha256, size=a.size)
            report.skip(a.item.rel, WAIT_CHANGED)
    return fresh, duplicates


def _record(
    run: IntakeRun,
    pool: Executor,
    fresh: list[Accepted],
    duplicates: list[Accepted],
    report: IntakeReport,
) -> None:
    """Record the stored files, count them, then clear them and their copies away."""
    stored, already, submissions = record_batch(run, fresh) if fresh else ([], [], 0)
    recorded_by = {a.key: a.item.outcome for a in (*stored, *already) if a.item.outcome is not None}
    for a in duplicates:
        first = recorded_by.get(a.key)
        a.item.outcome = a.outcome(
            "duplicate",
            first.submission_id if first else None,
            first.received_on if first else None,
        )
    duplicates = [*duplicates, *already]
    report.accepted += len(stored)
    report.late += sum(a.late for a in stored)
    report.duplicates += len(duplicates)
    report.submissions += submissions
    _remove_delivered([a.item for a in (*stored, *duplicates)], pool)


def _inspect(run: IntakeRun, item: Item) -> FileVerdict | str | None:
    """The verdict; None if the file is gone; the Chinese reason if it cannot be read."""
    try:
        return inspect_file(item.opener, item.name, run.max_bytes, declared_size=item.size)
    except FileNotFoundError:
        return None
    except OSError as exc:
        # Not the sender's fault and nothing to quarantine (it cannot be copied either):
        # it stays where it is, and the operator is told why.
        return unreadable(exc)


def _store(run: IntakeRun, a: Accepted) -> bool:
    """Copy into the evidence store; False if the file vanished or changed since inspection.

    _DiskFull when the store has no room left (the partial copy is already removed)."""
    try:
        # A batch of one (an upload) syncs its own file and folder: cheaper than the
        # filesystem-wide sync that makes a large batch durable at once.
        run.evidence.put(a.item.opener, a.sha256, sync=run.batch_size == 1)
    # ValueError: the digest no longer matches, i.e. the sender is still writing it.
    except (ValueError, FileNotFoundError):
        return False
    except OSError as exc:
        if exc.errno in _NO_SPACE:
            raise _DiskFull(str(run.evidence.root)) from None
        raise
    return True


def _name_problem(item: Item) -> tuple[str, str] | None:
    found = check_relative_name(item.name)
    if found is not None:
        return problem("unsafe_name", detail=found.message)
    if len(item.name) > MAX_ORIGINAL_NAME:
        return problem("unsafe_name", detail=f"路径过长(不超过 {MAX_ORIGINAL_NAME} 个字符)")
    return None


def _choose_obligation(
    received_on: date,
    gates: list[FileGate],
    unit: UnitState | None,
    obligations: dict[int, list[Obligation]],
    item: Item,
) -> Obligation | tuple[str, str]:
    """The obligation a file answers, or the rejection (code, message)."""
    if unit is None:
        return problem("unknown_unit", code=item.unit)
    if unit.status != "active":
        return problem("withdrawn_unit", code=item.unit)
    gate_ids = {g.id for g in gates}
    owed = [o for o in obligations.get(unit.id, []) if o.gate_id in gate_ids]
    if not owed:
        return problem("not_owed", code=item.unit, gate="、".join(g.name for g in gates))
    open_ = [o for o in owed if o.opens_on <= received_on]
    if not open_:
        return problem("gate_not_open", opens_on=_format_date(min(o.opens_on for o in owed)))
    # Campaigns normally give each kind one gate; if several share it, the file answers the
    # earliest-due one still outstanding, else the latest opened. Waived ones still count:
    # a waived item may be delivered anyway.
    pending = [o for o in open_ if o.done_on is None]
    if pending:
        return min(pending, key=lambda o: (o.due_on, o.id))
    return max(open_, key=lambda o: (o.opens_on, o.id))


def _format_date(d: date) -> str:
    return f"{d.year}年{d.month}月{d.day}日"


def _reject(
    run: IntakeRun,
    item: Item,
    reason: tuple[str, str],
    report: IntakeReport,
    verdict: FileVerdict | None = None,
) -> None:
    code, message = reason
    if run.quarantine is not None and item.remove is not None:
        try:
            run.quarantine.put(item.opener, item.rel, code, message, run.received_local)
        except FileNotFoundError:
            report.skip(item.rel, WAIT_CHANGED)
            item.outcome = FileOutcome("skipped")
            return
        except OSError as exc:
            if exc.errno in _NO_SPACE:
                raise _DiskFull(str(run.quarantine.root)) from None
            report.skip(item.rel, unreadable(exc))
            item.outcome = FileOutcome("skipped")
            return
        item.remove()
    item.outcome = FileOutcome(
        "rejected",
        reason_code=code,
        reason=message,
        sha256=verdict.sha256 if verdict else None,
        size=verdict.size if verdict else item.size,
        media_type=verdict.detected_type if verdict else None,
    )
    report.rejected += 1
    report.by_reason[code] = report.by_reason.get(code, 0) + 1
    if len(report.rejections) < MAX_REJECTIONS_KEPT:
        report.rejections.append((item.rel, code, message))


def _remove_delivered(items: Sequence[Item], pool: Executor | None = None) -> None:
    """Clear recorded files from the inbox; only ever called after their rows are committed.

    Unlinks wait on the disk (on a filesystem mounted with discard, ~0.1 ms each), so
    they overlap on the I/O threads."""
    removers = [item.remove for item in items if item.remove is not None]
    if pool is None:
        for remove in removers:
            remove()
    else:
        list(pool.map(lambda remove: remove(), removers))

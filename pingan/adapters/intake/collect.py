"""Take submitted files from an inbox (or an operator's manifest) into the evidence store.

Inbox layout: ``<inbox>/<deliverable kind>/<unit code>/<file or nested path>``. Each file is
checked, stored by content, recorded against the unit's obligation and only then removed
from the inbox, so a crash at any point loses nothing: the next run either finds no row
(and stores the file again, which the content-addressed store makes free) or finds the row
(and treats the file as a duplicate).

Work goes in batches: one set of lookups and one transaction per batch, never a query per
file, so tens of thousands of files cost a few dozen round trips.
"""

from __future__ import annotations

import contextlib
import csv
import io
import os
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, BinaryIO, Literal, cast
from zoneinfo import ZoneInfo

import fsspec
from fsspec.implementations.local import LocalFileSystem
from sqlalchemy import Connection, Engine, insert, select, update
from sqlalchemy.exc import IntegrityError

from pingan.adapters.db.audit import AuditEventRow
from pingan.adapters.db.campaigns import GateRow
from pingan.adapters.db.obligations import ObligationRow, SubmissionFileRow, SubmissionRow
from pingan.adapters.db.units import UnitRow
from pingan.adapters.intake.checks import (
    ALLOWED_TYPES,
    REASONS,
    FileVerdict,
    Opener,
    _allowed_label,
    _format_size,
    _too_large,
    check_relative_name,
    inspect_file,
)
from pingan.adapters.intake.store import EvidenceStore, Quarantine
from pingan.core.problems import InputError, Problem

# Reasons only the database half can tell; kept in the voice of checks.REASONS.
INTAKE_REASONS: dict[str, str] = {
    **REASONS,
    "not_owed": "单位 {code} 无需报送「{gate}」",
}

MAX_REJECTIONS_KEPT = 1000
# Both backends cap bound parameters per statement (SQLite 32766, PostgreSQL 65535); a batch
# binds up to two values per file in its lookups.
MAX_BATCH_SIZE = 10_000
# Column widths of submission / submission_file: PostgreSQL refuses longer values.
_MAX_ORIGINAL_NAME = 500
_MAX_SUBMITTED_BY = 200
_MAX_NOTE = 500
_MAX_SOURCE = 16

PROCESSED_DIR = ".processed"
_TEMP_PREFIXES = (".", "~$")
_TEMP_SUFFIXES = (".part", ".tmp")
# Without O_NOFOLLOW (Windows) a swapped-in link is still caught by the listing.
_O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_MANIFEST_COLUMNS = ("path", "kind", "unit")
# Without per-file fsync the work is small Python steps between syscalls, and threads only
# fight over the GIL (measured: 16 threads 5-6 s, inline 3 s for 10k files). Raise this for
# slow remote (fsspec) inboxes, where each read waits on the network.
_IO_THREADS = 1


@dataclass
class IntakeReport:
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    late: int = 0
    by_reason: dict[str, int] = field(default_factory=dict)
    submissions: int = 0
    # (relative path, reason code, Chinese reason); only the first MAX_REJECTIONS_KEPT.
    rejections: list[tuple[str, str, str]] = field(default_factory=list)
    # Left for a later run: uploaders' temp files, links, files changing while read.
    skipped: int = 0


def intake_message(reason_code: str, /, **fields: object) -> str:
    return INTAKE_REASONS[reason_code].format(**fields)


def too_large_message(actual_at_least: int, limit: int) -> str:
    """The too_large reason for a file refused before it was all read (an upload cut off
    while streaming), worded exactly as inspect_file words it."""
    reason = _too_large(actual_at_least, limit).reason
    assert reason is not None
    return reason


def size_label(n: int) -> str:
    """A size as rejection messages write it (truncated: "20 MB", "1.5 KB", "12 字节")."""
    return _format_size(n)


def allowed_types_label() -> str:
    """The accepted file types as rejection messages list them."""
    return _allowed_label(ALLOWED_TYPES)


OutcomeState = Literal["accepted", "duplicate", "rejected", "skipped"]


@dataclass(slots=True)
class FileOutcome:
    """What became of one file. For accepted and duplicate files, submission_id and
    received_on are those of the submission that recorded the content (for a duplicate,
    the earlier one)."""

    state: OutcomeState
    reason_code: str | None = None
    reason: str | None = None
    obligation_id: int | None = None
    submission_id: int | None = None
    received_on: date | None = None
    sha256: str | None = None
    size: int | None = None
    media_type: str | None = None
    late: bool = False


# Builds the audit row (actor, action, entity, entity_id, after) for a file that was just
# recorded; it is inserted in the same transaction as the submission it describes.
AuditFor = Callable[[FileOutcome], dict[str, Any]]


# --- internal records -------------------------------------------------------------------


@dataclass(slots=True)
class _Item:
    rel: str  # as shown to people: path below the inbox, or the manifest's path
    kind: str
    unit: str
    name: str  # stored as original_name
    size: int | None
    opener: Opener
    # None for manifest files, which belong to the operator and stay where they are.
    remove: Callable[[], None] | None
    submitted_by: str | None = None
    note: str | None = None
    problem: tuple[str, str] | None = None
    # Narrows the kind's gates to one (an upload names the gate it answers).
    gate_id: int | None = None
    outcome: FileOutcome | None = None


@dataclass(slots=True)
class _Accepted:
    item: _Item
    obligation_id: int
    sha256: str
    size: int
    media_type: str
    late: bool


@dataclass(frozen=True, slots=True)
class _Gate:
    id: int
    name: str


@dataclass(frozen=True, slots=True)
class _Obligation:
    id: int
    gate_id: int
    opens_on: date
    due_on: date
    done_on: date | None


@dataclass(frozen=True, slots=True)
class _Run:
    engine: Engine
    campaign_id: int
    evidence: EvidenceStore
    quarantine: Quarantine | None
    received_at: datetime  # naive UTC, as stored
    received_local: datetime
    received_on: date
    max_bytes: int
    source: str
    submitted_by: str | None
    batch_size: int
    progress: Callable[[int, int], None] | None
    pool: Executor
    audit: AuditFor | None = None


# --- public API -------------------------------------------------------------------------


def collect(
    engine: Engine,
    campaign_id: int,
    inbox: str,
    *,
    evidence: EvidenceStore,
    quarantine: Quarantine,
    received_at: datetime,
    tz: str,
    max_bytes: int,
    source: str = "inbox",
    batch_size: int = 500,
    submitted_by: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> IntakeReport:
    """Check, store and record every file in inbox (a local path or an fsspec URL).

    Accepted and duplicate files are removed once their row is committed; rejected files
    once their quarantine copy is written. received_at is naive UTC or aware.
    """
    report = IntakeReport()
    with _running(
        engine,
        campaign_id,
        evidence,
        quarantine,
        received_at=received_at,
        tz=tz,
        max_bytes=max_bytes,
        source=source,
        batch_size=batch_size,
        submitted_by=submitted_by,
        progress=progress,
    ) as run:
        _process(run, _list_inbox(inbox, report, run.received_local.strftime("%Y%m%d")), report)
    return report


def collect_manifest(
    engine: Engine,
    campaign_id: int,
    manifest: Path,
    *,
    evidence: EvidenceStore,
    quarantine: Quarantine,
    received_at: datetime,
    tz: str,
    max_bytes: int,
    source: str = "manifest",
    batch_size: int = 500,
    submitted_by: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> IntakeReport:
    """Record the files a CSV manifest (path,kind,unit[,submitted_by,note]) lists.

    Paths are relative to the manifest's folder. The files are the operator's bulk drop:
    they are copied into the evidence store but never removed or quarantined; a bad row is
    reported as manifest_row with its row number. Raises InputError for an unreadable
    manifest or a missing required column.
    """
    report = IntakeReport()
    with _running(
        engine,
        campaign_id,
        evidence,
        # The originals stay in place, so a quarantine copy would only duplicate them; the
        # report carries every reason back to the operator.
        None,
        received_at=received_at,
        tz=tz,
        max_bytes=max_bytes,
        source=source,
        batch_size=batch_size,
        submitted_by=submitted_by,
        progress=progress,
    ) as run:
        _process(run, _read_manifest(manifest), report)
    return report


def collect_file(
    engine: Engine,
    campaign_id: int,
    *,
    kind: str,
    unit: str,
    name: str,
    opener: Opener,
    size: int | None,
    evidence: EvidenceStore,
    quarantine: Quarantine,
    received_at: datetime,
    tz: str,
    max_bytes: int,
    gate_id: int | None = None,
    remove: Callable[[], None] | None = None,
    source: str = "portal",
    submitted_by: str | None = None,
    note: str | None = None,
    audit: AuditFor | None = None,
) -> FileOutcome:
    """Take one file through exactly the checks and writes of an inbox run.

    The file answers the unit's obligation for kind (for gate_id alone when given). A
    rejected file is copied to the quarantine and remove() is called, as for an inbox
    file; remove() is also called once an accepted or duplicate file is recorded. audit,
    when given, adds an audit row for an accepted file in the transaction that records it.
    """
    item = _Item(
        name,
        kind,
        unit,
        name,
        size,
        opener,
        remove,
        note=note,
        gate_id=gate_id,
    )
    if note is not None and len(note) > _MAX_NOTE:
        raise ValueError(f"note must be at most {_MAX_NOTE} characters")
    with _running(
        engine,
        campaign_id,
        evidence,
        quarantine,
        received_at=received_at,
        tz=tz,
        max_bytes=max_bytes,
        source=source,
        batch_size=1,
        submitted_by=submitted_by,
        progress=None,
        audit=audit,
    ) as run:
        _process(run, [item], IntakeReport())
    assert item.outcome is not None
    return item.outcome


@contextlib.contextmanager
def _running(
    engine: Engine,
    campaign_id: int,
    evidence: EvidenceStore,
    quarantine: Quarantine | None,
    *,
    received_at: datetime,
    tz: str,
    max_bytes: int,
    source: str,
    batch_size: int,
    submitted_by: str | None,
    progress: Callable[[int, int], None] | None,
    audit: AuditFor | None = None,
) -> Iterator[_Run]:
    if not 1 <= batch_size <= MAX_BATCH_SIZE:
        raise ValueError(f"batch_size must be between 1 and {MAX_BATCH_SIZE}")
    if not source or len(source) > _MAX_SOURCE:
        raise ValueError(f"source must be 1 to {_MAX_SOURCE} characters")
    if submitted_by is not None and len(submitted_by) > _MAX_SUBMITTED_BY:
        raise ValueError(f"submitted_by must be at most {_MAX_SUBMITTED_BY} characters")
    aware = (
        received_at.replace(tzinfo=UTC)
        if received_at.tzinfo is None
        else received_at.astimezone(UTC)
    )
    local = aware.astimezone(ZoneInfo(tz))
    pool_cm: Any = (
        ThreadPoolExecutor(_IO_THREADS, thread_name_prefix="pingan-intake")
        if _IO_THREADS > 1
        else _InlineExecutor()
    )
    with pool_cm as pool:
        yield _Run(
            engine=engine,
            campaign_id=campaign_id,
            evidence=evidence,
            quarantine=quarantine,
            received_at=aware.replace(tzinfo=None),
            received_local=local,
            received_on=local.date(),
            max_bytes=max_bytes,
            source=source,
            submitted_by=submitted_by,
            batch_size=batch_size,
            progress=progress,
            pool=pool,
            audit=audit,
        )


# --- sources ----------------------------------------------------------------------------


class _InlineExecutor(Executor):
    """Runs submitted work at once in the calling thread (Executor.map uses submit)."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        future: Future[Any] = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:
            future.set_exception(exc)
        return future


def _is_transient(segment: str) -> bool:
    lowered = segment.lower()
    return segment.startswith(_TEMP_PREFIXES) or lowered.endswith(_TEMP_SUFFIXES)


def _list_inbox(inbox: str, report: IntakeReport, day: str) -> list[_Item]:
    try:
        fs, root = fsspec.core.url_to_fs(inbox)
    # ValueError: no filesystem for the protocol; ImportError: its driver is not installed;
    # OSError: a remote one that cannot be reached. Nothing was taken in either way.
    except (ValueError, ImportError) as exc:
        raise InputError([Problem(inbox, "", f"报送目录地址无法识别（{exc}）")]) from None
    except OSError as exc:
        raise InputError([Problem(inbox, "", f"无法连接报送目录：{_os_reason(exc)}")]) from None
    root = str(root).rstrip("/")
    if isinstance(fs, LocalFileSystem):
        found = list(_walk_local(root, report))
        mover = _ProcessedMover(os.path.join(root, PROCESSED_DIR, day))
        items = [
            _inbox_item(rel, size, _local_opener(path), mover.remover(path, rel))
            for path, rel, size in found
        ]
    else:
        prefix = root + "/"
        items = []
        try:
            listing = fs.find(root, detail=True, withdirs=False)
        except OSError as exc:
            raise InputError([Problem(inbox, "", f"无法读取报送目录：{_os_reason(exc)}")]) from None
        for path, info in listing.items():
            if not path.startswith(prefix) or info.get("type", "file") != "file":
                continue
            rel = path[len(prefix) :]
            if any(_is_transient(s) for s in rel.split("/")):
                report.skipped += 1
                continue
            items.append(
                _inbox_item(rel, info.get("size"), _fs_opener(fs, path), _fs_remover(fs, path))
            )
    # Sorted so one unit's files fall into one batch and so runs are reproducible.
    items.sort(key=lambda i: i.rel)
    return items


def _os_reason(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__


def _walk_local(root: str, report: IntakeReport) -> Iterator[tuple[str, str, int]]:
    """(path, relative path, size) of regular files; links and special files are skipped.

    A link could make us copy a file from outside the inbox, and a FIFO would block the read.
    """
    pending = [(root, "")]
    while pending:
        directory, prefix = pending.pop()
        try:
            entries = list(os.scandir(directory))
        except FileNotFoundError:
            continue
        for entry in entries:
            if not prefix and entry.name == PROCESSED_DIR:
                continue
            if _is_transient(entry.name) or entry.is_symlink():
                report.skipped += 1
            elif entry.is_dir(follow_symlinks=False):
                pending.append((entry.path, f"{prefix}{entry.name}/"))
            elif entry.is_file(follow_symlinks=False):
                yield entry.path, prefix + entry.name, entry.stat(follow_symlinks=False).st_size
            else:
                report.skipped += 1


def _inbox_item(rel: str, size: int | None, opener: Opener, remove: Callable[[], None]) -> _Item:
    parts = rel.split("/", 2)
    if len(parts) < 3:
        return _Item(rel, "", "", rel, size, opener, remove, problem=_problem("bad_layout"))
    kind, unit, name = parts
    return _Item(rel, kind, unit, name, size, opener, remove)


def _local_opener(path: str) -> Opener:
    def open_() -> BinaryIO:
        return os.fdopen(os.open(path, os.O_RDONLY | _O_NOFOLLOW), "rb")

    return open_


class _ProcessedMover:
    """Takes handled files out of a local inbox by renaming them into
    ``<inbox>/.processed/<YYYYMMDD>/<same path>``.

    A rename on the same filesystem costs no copy and frees no blocks, where an unlink on a
    disk mounted with ``discard`` waits for the TRIM; the sender's original is also kept,
    as nothing in intake is ever deleted. Operators prune old days as their retention rules
    allow.
    """

    def __init__(self, base: str) -> None:
        self.base = base
        self._dirs: set[str] = set()
        self._lock = threading.Lock()

    def remover(self, path: str, rel: str) -> Callable[[], None]:
        def remove() -> None:
            dest = os.path.join(self.base, rel)
            folder = os.path.dirname(dest)
            if folder not in self._dirs:
                os.makedirs(folder, exist_ok=True)
                with self._lock:
                    self._dirs.add(folder)
            if os.path.lexists(dest):  # the same name sent again the same day
                dest = f"{dest}.{uuid.uuid4().hex[:8]}"
            with contextlib.suppress(FileNotFoundError):
                os.replace(path, dest)

        return remove


def _fs_opener(fs: Any, path: str) -> Opener:
    return lambda: cast(BinaryIO, fs.open(path, "rb"))


def _fs_remover(fs: Any, path: str) -> Callable[[], None]:
    def remove() -> None:
        with contextlib.suppress(FileNotFoundError):
            fs.rm_file(path)

    return remove


def _read_manifest(manifest: Path) -> list[_Item]:
    source = manifest.name
    try:
        text = manifest.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(
            [Problem(source, "", "报送清单不是 UTF-8 编码,请另存为 UTF-8 CSV 后重试")]
        ) from None
    except OSError as exc:
        raise InputError([Problem(source, "", f"无法读取报送清单:{exc.strerror}")]) from None
    rows = csv.reader(io.StringIO(text, newline=""))
    header = [h.strip().lower() for h in next(rows, [])]
    missing = [c for c in _MANIFEST_COLUMNS if c not in header]
    if missing:
        raise InputError(
            [
                Problem(
                    source,
                    "第 1 行",
                    f"表头缺少列:{'、'.join(missing)}(须包括 path、kind、unit)",
                )
            ]
        )
    column = {name: header.index(name) for name in header}
    folder = manifest.resolve().parent
    items: list[_Item] = []
    # Row numbers as a spreadsheet shows them: the header is row 1.
    for number, cells in enumerate(rows, start=2):
        if not any(c.strip() for c in cells):
            continue

        def cell(name: str, cells: list[str] = cells) -> str:
            index = column.get(name)
            return cells[index].strip() if index is not None and index < len(cells) else ""

        path, kind, unit = cell("path"), cell("kind"), cell("unit")
        by, note = cell("submitted_by") or None, cell("note") or None
        target = folder / path
        item = _Item(
            path,
            kind,
            unit,
            path,
            None,
            _path_opener(target),
            None,
            submitted_by=by,
            note=note,
        )
        detail = _manifest_row_problem(folder, path, kind, unit, by, note)
        if detail is not None:
            item.problem = (
                "manifest_row",
                intake_message("manifest_row", row=number, detail=detail),
            )
        else:
            item.size = target.stat().st_size
        items.append(item)
    return items


def _path_opener(path: Path) -> Opener:
    return lambda: path.open("rb")


def _manifest_row_problem(
    folder: Path, path: str, kind: str, unit: str, by: str | None, note: str | None
) -> str | None:
    empty = [
        name for name, value in zip(_MANIFEST_COLUMNS, (path, kind, unit), strict=True) if not value
    ]
    if empty:
        return f"缺少必填项:{'、'.join(empty)}"
    name_problem = check_relative_name(path)
    if name_problem is not None:
        return f"路径 {path!r} 无效:{name_problem.message}"
    target = folder / path
    # A link inside the folder may still point outside it.
    if not target.resolve().is_relative_to(folder):
        return f"路径 {path!r} 指向报送清单所在目录之外"
    if not target.is_file():
        return f"文件不存在:{path}"
    if len(path) > _MAX_ORIGINAL_NAME:
        return f"路径过长(不超过 {_MAX_ORIGINAL_NAME} 个字符)"
    if by is not None and len(by) > _MAX_SUBMITTED_BY:
        return f"submitted_by 过长(不超过 {_MAX_SUBMITTED_BY} 个字符)"
    if note is not None and len(note) > _MAX_NOTE:
        return f"note 过长(不超过 {_MAX_NOTE} 个字符)"
    return None


# --- processing -------------------------------------------------------------------------


def _problem(code: str, /, **fields: object) -> tuple[str, str]:
    return code, intake_message(code, **fields)


def _format_date(d: date) -> str:
    return f"{d.year}年{d.month}月{d.day}日"


def _process(run: _Run, items: Sequence[_Item], report: IntakeReport) -> None:
    kinds = _file_gates(run)
    total = len(items)
    for start in range(0, total, run.batch_size):
        _process_batch(run, kinds, items[start : start + run.batch_size], report)
        if run.progress is not None:
            run.progress(min(start + run.batch_size, total), total)


def _file_gates(run: _Run) -> dict[str, list[_Gate]]:
    query = select(GateRow.deliverable, GateRow.id, GateRow.name).where(
        GateRow.campaign_id == run.campaign_id, GateRow.evidence == "files"
    )
    kinds: dict[str, list[_Gate]] = {}
    with run.engine.connect() as conn:
        for deliverable, gate_id, name in conn.execute(query):
            kinds.setdefault(deliverable, []).append(_Gate(gate_id, name))
    return kinds


def _process_batch(
    run: _Run, kinds: dict[str, list[_Gate]], batch: Sequence[_Item], report: IntakeReport
) -> None:
    candidates: list[_Item] = []
    for item in batch:
        problem = item.problem or _name_problem(item)
        if problem is None and item.kind not in kinds:
            problem = _problem("unknown_kind", kind=item.kind)
        if problem is not None:
            _reject(run, item, problem, report)
        else:
            candidates.append(item)

    units, obligations = _lookup(run, kinds, {i.unit for i in candidates})
    owed: list[tuple[_Item, _Obligation]] = []
    for item in candidates:
        gates = kinds[item.kind]
        if item.gate_id is not None:
            gates = [g for g in gates if g.id == item.gate_id]
        chosen = _choose_obligation(run, gates, units, obligations, item)
        if isinstance(chosen, tuple):
            _reject(run, item, chosen, report)
        else:
            owed.append((item, chosen))

    # Reading and storing wait on the disk (above all on fsync) and release the GIL, so
    # threads overlap them; everything that decides or counts stays on this thread, in order.
    verdicts = run.pool.map(lambda pair: _inspect(run, pair[0]), owed)
    accepted: list[_Accepted] = []
    for (item, obligation), verdict in zip(owed, verdicts, strict=True):
        if verdict is None:
            report.skipped += 1  # taken away by its sender since the listing
            item.outcome = FileOutcome("skipped")
        elif not verdict.ok:
            assert verdict.reason_code is not None and verdict.reason is not None
            _reject(run, item, (verdict.reason_code, verdict.reason), report, verdict)
        else:
            assert verdict.sha256 is not None and verdict.detected_type is not None
            accepted.append(
                _Accepted(
                    item,
                    obligation.id,
                    verdict.sha256,
                    verdict.size,
                    verdict.detected_type,
                    late=run.received_on > obligation.due_on,
                )
            )

    firsts: list[_Accepted] = []
    duplicates: list[_Accepted] = []
    seen: set[tuple[int, str]] = set()
    for a in accepted:
        key = (a.obligation_id, a.sha256)
        (duplicates if key in seen else firsts).append(a)
        seen.add(key)
    # Also for content already recorded: that puts back evidence lost since, and costs one
    # stat when it is there.
    stored_ok = run.pool.map(lambda a: _store(run, a), firsts)
    fresh = [a for a, ok in zip(firsts, stored_ok, strict=True) if ok]
    # One filesystem sync for the batch's evidence, before the rows that point at it commit.
    run.evidence.flush()
    # A copy of a file that could not be stored is no duplicate: it must stay for next time.
    kept = {(a.obligation_id, a.sha256) for a in fresh}
    orphans = [a for a in duplicates if (a.obligation_id, a.sha256) not in kept]
    duplicates = [a for a in duplicates if (a.obligation_id, a.sha256) in kept]
    report.skipped += len(firsts) - len(fresh) + len(orphans)
    for a in (*firsts, *orphans):
        if (a.obligation_id, a.sha256) not in kept:
            a.item.outcome = FileOutcome("skipped", sha256=a.sha256, size=a.size)

    if fresh:
        stored, already, submissions = _write_batch_settling(run, fresh)
    else:
        stored, already, submissions = [], [], 0
    recorded_by = {
        (a.obligation_id, a.sha256): a.item.outcome
        for a in (*stored, *already)
        if a.item.outcome is not None
    }
    for a in duplicates:
        first = recorded_by.get((a.obligation_id, a.sha256))
        a.item.outcome = _outcome(
            a,
            "duplicate",
            first.submission_id if first else None,
            first.received_on if first else None,
        )
    duplicates += already
    report.accepted += len(stored)
    report.late += sum(a.late for a in stored)
    report.duplicates += len(duplicates)
    report.submissions += submissions
    _remove_delivered([a.item for a in (*stored, *duplicates)], run.pool)


def _inspect(run: _Run, item: _Item) -> FileVerdict | None:
    try:
        return inspect_file(item.opener, item.name, run.max_bytes, declared_size=item.size)
    except FileNotFoundError:
        return None


def _store(run: _Run, a: _Accepted) -> bool:
    """Copy into the evidence store; False if the file vanished or changed since inspection."""
    try:
        # A batch of one (an upload) syncs its own file and folder: cheaper than the
        # filesystem-wide sync that makes a large batch durable at once.
        run.evidence.put(a.item.opener, a.sha256, sync=run.batch_size == 1)
    # ValueError: the digest no longer matches, i.e. the sender is still writing it.
    except (ValueError, FileNotFoundError):
        return False
    return True


def _name_problem(item: _Item) -> tuple[str, str] | None:
    problem = check_relative_name(item.name)
    if problem is not None:
        return _problem("unsafe_name", detail=problem.message)
    if len(item.name) > _MAX_ORIGINAL_NAME:
        return _problem("unsafe_name", detail=f"路径过长(不超过 {_MAX_ORIGINAL_NAME} 个字符)")
    return None


def _lookup(
    run: _Run, kinds: dict[str, list[_Gate]], codes: set[str]
) -> tuple[dict[str, tuple[int, str]], dict[int, list[_Obligation]]]:
    """Units by code and their file-gate obligations by unit id, for one batch."""
    if not codes:
        return {}, {}
    gate_ids = [g.id for gates in kinds.values() for g in gates]
    with run.engine.connect() as conn:
        units: dict[str, tuple[int, str]] = {
            code: (uid, status)
            for code, uid, status in conn.execute(
                select(UnitRow.code, UnitRow.id, UnitRow.status).where(
                    UnitRow.campaign_id == run.campaign_id, UnitRow.code.in_(sorted(codes))
                )
            )
        }
        obligations: dict[int, list[_Obligation]] = {}
        if units:
            query = select(
                ObligationRow.unit_id,
                ObligationRow.id,
                ObligationRow.gate_id,
                ObligationRow.opens_on,
                ObligationRow.due_on,
                ObligationRow.done_on,
            ).where(
                ObligationRow.unit_id.in_([uid for uid, _ in units.values()]),
                ObligationRow.gate_id.in_(gate_ids),
            )
            for unit_id, oid, gate_id, opens_on, due_on, done_on in conn.execute(query):
                obligations.setdefault(unit_id, []).append(
                    _Obligation(oid, gate_id, opens_on, due_on, done_on)
                )
    return units, obligations


def _choose_obligation(
    run: _Run,
    gates: list[_Gate],
    units: dict[str, tuple[int, str]],
    obligations: dict[int, list[_Obligation]],
    item: _Item,
) -> _Obligation | tuple[str, str]:
    """The obligation a file answers, or the rejection (code, message)."""
    unit = units.get(item.unit)
    if unit is None:
        return _problem("unknown_unit", code=item.unit)
    unit_id, status = unit
    if status != "active":
        return _problem("withdrawn_unit", code=item.unit)
    gate_ids = {g.id for g in gates}
    owed = [o for o in obligations.get(unit_id, []) if o.gate_id in gate_ids]
    if not owed:
        return _problem("not_owed", code=item.unit, gate="、".join(g.name for g in gates))
    open_ = [o for o in owed if o.opens_on <= run.received_on]
    if not open_:
        return _problem("gate_not_open", opens_on=_format_date(min(o.opens_on for o in owed)))
    # Campaigns normally give each kind one gate; if several share it, the file answers the
    # earliest-due one still outstanding, else the latest opened. Waived ones still count:
    # a waived item may be delivered anyway.
    pending = [o for o in open_ if o.done_on is None]
    if pending:
        return min(pending, key=lambda o: (o.due_on, o.id))
    return max(open_, key=lambda o: (o.opens_on, o.id))


def _outcome(
    a: _Accepted, state: OutcomeState, submission_id: int | None, received_on: date | None
) -> FileOutcome:
    return FileOutcome(
        state,
        obligation_id=a.obligation_id,
        submission_id=submission_id,
        received_on=received_on,
        sha256=a.sha256,
        size=a.size,
        media_type=a.media_type,
        late=a.late,
    )


def _reject(
    run: _Run,
    item: _Item,
    problem: tuple[str, str],
    report: IntakeReport,
    verdict: FileVerdict | None = None,
) -> None:
    code, message = problem
    if run.quarantine is not None and item.remove is not None:
        try:
            run.quarantine.put(item.opener, item.rel, code, message, run.received_local)
        except FileNotFoundError:
            report.skipped += 1
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


# --- database ---------------------------------------------------------------------------


@contextlib.contextmanager
def _durable_transaction(engine: Engine) -> Iterator[Connection]:
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


def _write_batch(run: _Run, fresh: list[_Accepted]) -> tuple[list[_Accepted], list[_Accepted], int]:
    """Record one batch in one transaction: (stored, already recorded, submissions made)."""
    with _durable_transaction(run.engine) as conn:
        # Checked inside the transaction, so an earlier run that committed but crashed
        # before clearing the inbox makes these duplicates rather than a constraint error.
        recorded: dict[tuple[int, str], tuple[int, date]] = {
            (oid, sha): (sid, on)
            for oid, sha, sid, on in conn.execute(
                select(
                    SubmissionFileRow.obligation_id,
                    SubmissionFileRow.sha256,
                    SubmissionFileRow.submission_id,
                    SubmissionRow.received_on,
                )
                .join(SubmissionRow, SubmissionRow.id == SubmissionFileRow.submission_id)
                .where(
                    SubmissionFileRow.obligation_id.in_({a.obligation_id for a in fresh}),
                    SubmissionFileRow.sha256.in_({a.sha256 for a in fresh}),
                )
            )
        }
        stored = [a for a in fresh if (a.obligation_id, a.sha256) not in recorded]
        already = [a for a in fresh if (a.obligation_id, a.sha256) in recorded]
        for a in already:
            a.item.outcome = _outcome(a, "duplicate", *recorded[(a.obligation_id, a.sha256)])
        if not stored:
            return stored, already, 0

        groups: dict[tuple[int, str | None, str | None], list[_Accepted]] = {}
        for a in stored:
            by = a.item.submitted_by or run.submitted_by
            groups.setdefault((a.obligation_id, by, a.item.note), []).append(a)
        keys = list(groups)
        ids = (
            conn.execute(
                insert(SubmissionRow).returning(SubmissionRow.id, sort_by_parameter_order=True),
                [
                    {
                        "campaign_id": run.campaign_id,
                        "obligation_id": key[0],
                        "received_at": run.received_at,
                        "received_on": run.received_on,
                        "late": any(a.late for a in groups[key]),
                        "source": run.source,
                        "submitted_by": key[1],
                        "note": key[2],
                    }
                    for key in keys
                ],
            )
            .scalars()
            .all()
        )
        conn.execute(
            insert(SubmissionFileRow),
            [
                {
                    "submission_id": submission_id,
                    "obligation_id": a.obligation_id,
                    "sha256": a.sha256,
                    "size": a.size,
                    "original_name": a.item.name,
                    "media_type": a.media_type,
                }
                for key, submission_id in zip(keys, ids, strict=True)
                for a in groups[key]
            ],
        )
        for key, submission_id in zip(keys, ids, strict=True):
            for a in groups[key]:
                a.item.outcome = _outcome(a, "accepted", submission_id, run.received_on)
        if run.audit is not None:
            audit = run.audit
            conn.execute(
                insert(AuditEventRow),
                [
                    {"campaign_id": run.campaign_id, "at": run.received_at, **audit(outcome)}
                    for a in stored
                    if (outcome := a.item.outcome) is not None
                ],
            )
        conn.execute(
            update(ObligationRow)
            .where(
                ObligationRow.id.in_({a.obligation_id for a in stored}),
                ObligationRow.done_on.is_(None),
            )
            .values(done_on=run.received_on, status_as_of=None)
        )
    return stored, already, len(keys)


# Concurrent writers that collide with this batch; each collision means another batch
# committed, so a few passes always settle (four ticks on one inbox needed three).
_WRITE_TRIES = 10


def _write_batch_settling(
    run: _Run, fresh: list[_Accepted]
) -> tuple[list[_Accepted], list[_Accepted], int]:
    """_write_batch, again while a concurrent writer (another worker, or an upload sent
    twice at once) records some of this content between our check and our insert: the
    next pass sees its rows and counts them as duplicates."""
    for _ in range(_WRITE_TRIES - 1):
        try:
            return _write_batch(run, fresh)
        except IntegrityError:
            continue
    return _write_batch(run, fresh)


def _remove_delivered(items: Sequence[_Item], pool: Executor | None = None) -> None:
    """Clear recorded files from the inbox; only ever called after their rows are committed.

    Unlinks wait on the disk (on a filesystem mounted with discard, ~0.1 ms each), so
    they overlap on the I/O threads."""
    removers = [item.remove for item in items if item.remove is not None]
    if pool is None:
        for remove in removers:
            remove()
    else:
        list(pool.map(lambda remove: remove(), removers))

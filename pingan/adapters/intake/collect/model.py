"""The values of intake: one run's settings, the report it fills and each file's outcome,
with the reasons only the database half can tell."""

from __future__ import annotations

import errno
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from pingan.adapters.db.intake import Receipt
from pingan.adapters.intake.checks import (
    ALLOWED_TYPES,
    REASONS,
    Opener,
    allowed_label,
    format_size,
    too_large,
)
from pingan.adapters.intake.store import EvidenceStore, Quarantine
from pingan.core.progress import Progress

# Reasons only the database half can tell; kept in the voice of checks.REASONS.
INTAKE_REASONS: dict[str, str] = {
    **REASONS,
    "not_owed": "单位 {code} 无需报送「{gate}」",
    "symlink": "这是符号链接（指向 {target}），出于安全不予读取，已移出报送目录",
    "special_file": "这不是普通文件（{what}），不予读取，已移出报送目录",
    "unsafe_folder": "目录名 {name} 不安全（{detail}），其中的文件不予接收",
}

_OS_REASONS = {
    errno.EACCES: "权限不足",
    errno.EPERM: "权限不足",
    errno.EIO: "磁盘读写错误",
    errno.ELOOP: "链接层次过多",
    errno.ENAMETOOLONG: "路径过长",
}


def os_reason(exc: OSError) -> str:
    """Why the system refused, in Chinese where it is common, else the system's words."""
    if exc.errno in _OS_REASONS:
        return _OS_REASONS[exc.errno]
    return exc.strerror or type(exc).__name__


def unreadable(exc: OSError) -> str:
    return f"文件无法读取（{os_reason(exc)}），已留在报送目录"


# Why something stays in the inbox for a later run, as the operator reads it.
WAIT_TEMP = "上传中的临时文件或隐藏文件，暂不收取"
WAIT_CHANGED = "文件在收取过程中被删除或改动，下次收取时再处理"
DISK_FULL = (
    "证据库所在磁盘空间不足（{where}）：已收取的文件均已登记，其余文件留在报送目录，"
    "请清理磁盘后重新收取"
)

MAX_REJECTIONS_KEPT = 1000
# Both backends cap bound parameters per statement (SQLite 32766, PostgreSQL 65535); a batch
# binds up to two values per file in its lookups.
MAX_BATCH_SIZE = 10_000
# Column widths of submission / submission_file: PostgreSQL refuses longer values.
MAX_ORIGINAL_NAME = 500
MAX_SUBMITTED_BY = 200
MAX_NOTE = 500
_MAX_SOURCE = 16


def intake_message(reason_code: str, /, **fields: object) -> str:
    return INTAKE_REASONS[reason_code].format(**fields)


def problem(code: str, /, **fields: object) -> tuple[str, str]:
    """A rejection as (reason code, Chinese message)."""
    return code, intake_message(code, **fields)


def too_large_message(actual_at_least: int, limit: int) -> str:
    """The too_large reason for a file refused before it was all read (an upload cut off
    while streaming), worded exactly as inspect_file words it."""
    reason = too_large(actual_at_least, limit).reason
    assert reason is not None
    return reason


def size_label(n: int) -> str:
    """A size as rejection messages write it (truncated: "20 MB", "1.5 KB", "12 字节")."""
    return format_size(n)


def allowed_types_label() -> str:
    """The accepted file types as rejection messages list them."""
    return allowed_label(ALLOWED_TYPES)


# --- results ----------------------------------------------------------------------------


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
    # Left for a later run: uploaders' temp files, files changing while read, unreadable ones.
    skipped: int = 0
    # (relative path, Chinese reason) of what was skipped; only the first MAX_REJECTIONS_KEPT.
    waiting: list[tuple[str, str]] = field(default_factory=list)
    # Why the run stopped early (the evidence disk filled), in Chinese; None if it did not.
    halted: str | None = None

    def skip(self, rel: str, reason: str) -> None:
        self.skipped += 1
        if len(self.waiting) < MAX_REJECTIONS_KEPT:
            self.waiting.append((rel, reason))


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


# --- inputs -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class IntakeRun:
    """One pass of intake: the campaign, the moment, the stores and the limits.

    received_at is naive UTC or aware; tz is the campaign's zone, which decides the day a
    file was received on. source None means the entry point's own: "inbox", "manifest"
    or "portal". audit, when given, adds an audit row for each accepted file in the
    transaction that records it.
    """

    engine: Engine
    campaign_id: int
    tz: str
    received_at: datetime
    evidence: EvidenceStore
    quarantine: Quarantine | None
    max_bytes: int
    source: str | None = None
    submitted_by: str | None = None
    batch_size: int = 500
    progress: Progress | None = None
    audit: AuditFor | None = None
    received_utc: datetime = field(init=False)  # naive UTC, as stored
    received_local: datetime = field(init=False)

    def __post_init__(self) -> None:
        if not 1 <= self.batch_size <= MAX_BATCH_SIZE:
            raise ValueError(f"batch_size must be between 1 and {MAX_BATCH_SIZE}")
        if self.source is not None and not 1 <= len(self.source) <= _MAX_SOURCE:
            raise ValueError(f"source must be 1 to {_MAX_SOURCE} characters")
        if self.submitted_by is not None and len(self.submitted_by) > MAX_SUBMITTED_BY:
            raise ValueError(f"submitted_by must be at most {MAX_SUBMITTED_BY} characters")
        at = self.received_at
        aware = at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
        object.__setattr__(self, "received_utc", aware.replace(tzinfo=None))
        object.__setattr__(self, "received_local", aware.astimezone(ZoneInfo(self.tz)))

    @property
    def received_on(self) -> date:
        return self.received_local.date()

    @property
    def receipt(self) -> Receipt:
        assert self.source is not None, "the entry point sets the source"
        return Receipt(self.campaign_id, self.received_utc, self.received_on, self.source)


@dataclass(frozen=True, slots=True)
class IncomingFile:
    """One file handed over on its own (an upload), answering the unit's obligation for
    kind, or for gate_id alone when given. remove() takes it away once it is recorded or
    quarantined."""

    kind: str
    unit: str
    name: str
    opener: Opener
    size: int | None
    gate_id: int | None = None
    remove: Callable[[], None] | None = None
    note: str | None = None

    def __post_init__(self) -> None:
        if self.note is not None and len(self.note) > MAX_NOTE:
            raise ValueError(f"note must be at most {MAX_NOTE} characters")


# --- working records --------------------------------------------------------------------


@dataclass(slots=True)
class Item:
    """A file on its way through one run."""

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
class Accepted:
    """A file that passed every check, with the obligation it answers."""

    item: Item
    obligation_id: int
    sha256: str
    size: int
    media_type: str
    late: bool

    @property
    def key(self) -> tuple[int, str]:
        return self.obligation_id, self.sha256

    def outcome(
        self, state: OutcomeState, submission_id: int | None, received_on: date | None
    ) -> FileOutcome:
        return FileOutcome(
            state,
            obligation_id=self.obligation_id,
            submission_id=submission_id,
            received_on=received_on,
            sha256=self.sha256,
            size=self.size,
            media_type=self.media_type,
            late=self.late,
        )

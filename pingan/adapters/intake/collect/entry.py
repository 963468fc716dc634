"""The three ways files come in: an inbox folder, an operator's manifest, one upload."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from pingan.adapters.intake.collect.batch import process
from pingan.adapters.intake.collect.inbox import list_inbox
from pingan.adapters.intake.collect.manifest import read_manifest
from pingan.adapters.intake.collect.model import (
    FileOutcome,
    IncomingFile,
    IntakeReport,
    IntakeRun,
    Item,
)


def collect(run: IntakeRun, inbox: str) -> IntakeReport:
    """Check, store and record every file in inbox (a local path or an fsspec URL).

    Accepted and duplicate files are removed once their row is committed; rejected files
    once their quarantine copy is written.
    """
    run = _with_source(run, "inbox")
    report = IntakeReport()
    process(run, list_inbox(inbox, report, run.received_local.strftime("%Y%m%d")), report)
    return report


def collect_manifest(run: IntakeRun, manifest: Path) -> IntakeReport:
    """Record the files a CSV manifest (path,kind,unit[,submitted_by,note]) lists.

    Paths are relative to the manifest's folder. The files are the operator's bulk drop:
    they are copied into the evidence store but never removed or quarantined; a bad row is
    reported as manifest_row with its row number. Raises InputError for an unreadable
    manifest or a missing required column.
    """
    # The originals stay in place, so a quarantine copy would only duplicate them; the
    # report carries every reason back to the operator.
    run = dataclasses.replace(_with_source(run, "manifest"), quarantine=None)
    report = IntakeReport()
    process(run, read_manifest(manifest), report)
    return report


def collect_file(run: IntakeRun, incoming: IncomingFile) -> FileOutcome:
    """Take one file through exactly the checks and writes of an inbox run.

    A rejected file is copied to the quarantine and remove() is called, as for an inbox
    file; remove() is also called once an accepted or duplicate file is recorded.
    """
    f = incoming
    item = Item(
        f.name, f.kind, f.unit, f.name, f.size, f.opener, f.remove, note=f.note, gate_id=f.gate_id
    )
    run = dataclasses.replace(_with_source(run, "portal"), batch_size=1, progress=None)
    process(run, [item], IntakeReport())
    assert item.outcome is not None
    return item.outcome


def _with_source(run: IntakeRun, source: str) -> IntakeRun:
    return run if run.source is not None else dataclasses.replace(run, source=source)

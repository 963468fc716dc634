"""Take submitted files from an inbox (or an operator's manifest) into the evidence store.

Inbox layout: ``<inbox>/<deliverable kind>/<unit code>/<file or nested path>``. Each file is
checked, stored by content, recorded against the unit's obligation and only then removed
from the inbox, so a crash at any point loses nothing: the next run either finds no row
(and stores the file again, which the content-addressed store makes free) or finds the row
(and treats the file as a duplicate).

Work goes in batches: one set of lookups and one transaction per batch, never a query per
file, so tens of thousands of files cost a few dozen round trips.
"""

from pingan.adapters.intake.collect.entry import collect, collect_file, collect_manifest
from pingan.adapters.intake.collect.inbox import PROCESSED_DIR
from pingan.adapters.intake.collect.model import (
    AuditFor,
    FileOutcome,
    IncomingFile,
    IntakeReport,
    IntakeRun,
    allowed_types_label,
    size_label,
    too_large_message,
)

__all__ = [
    "PROCESSED_DIR",
    "AuditFor",
    "FileOutcome",
    "IncomingFile",
    "IntakeReport",
    "IntakeRun",
    "allowed_types_label",
    "collect",
    "collect_file",
    "collect_manifest",
    "size_label",
    "too_large_message",
]

"""Checks on one submitted file that need no database: name, size, type and digest.

The type is told from the content, never from the extension, because units rename files
(an .exe called 报告.pdf, a scan saved as .doc) and the extension is the one thing a hostile
or careless sender controls completely.

Every rejection carries a stable English reason code and a Chinese message taken from
REASONS, so that checks in other modules report in the same voice.
"""

from pingan.adapters.intake.checks.names import (
    WINDOWS_RESERVED_CHARS,
    NameProblem,
    check_relative_name,
    is_unsafe_char,
    is_windows_device_name,
)
from pingan.adapters.intake.checks.sniff import ALLOWED_TYPES, HEAD_SIZE, Opener, sniff_type
from pingan.adapters.intake.checks.verdict import (
    CHUNK_SIZE,
    REASONS,
    FileVerdict,
    allowed_label,
    format_size,
    inspect_file,
    reason_message,
    too_large,
)

__all__ = [
    "ALLOWED_TYPES",
    "CHUNK_SIZE",
    "HEAD_SIZE",
    "REASONS",
    "WINDOWS_RESERVED_CHARS",
    "FileVerdict",
    "NameProblem",
    "Opener",
    "allowed_label",
    "check_relative_name",
    "format_size",
    "inspect_file",
    "is_unsafe_char",
    "is_windows_device_name",
    "reason_message",
    "sniff_type",
    "too_large",
]

"""Receipt numbers: derived from the submission, so the same file always shows the same one."""

from __future__ import annotations

import hashlib
from datetime import date


def receipt_number(received_on: date, submission_id: int, sha256: str) -> str:
    """``YYYYMMDD-XXXXXXXX``: the day of receipt and a short hash of what was received.

    Recomputable from the submission and file rows at any time, so nothing extra is stored
    and a unit quoting its receipt can be found again.
    """
    digest = hashlib.sha256(f"{submission_id}:{sha256.lower()}".encode("ascii")).hexdigest()
    return f"{received_on:%Y%m%d}-{digest[:8].upper()}"

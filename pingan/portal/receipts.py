"""Receipt numbers: derived from the submission, so the same file always shows the same one.
The rule lives in the core, where mail receipts use it too."""

from __future__ import annotations

from pingan.core.receipts import receipt_number

__all__ = ["receipt_number"]

"""Spreadsheet and CSV cell values that stay data in the reader's spreadsheet program."""

from __future__ import annotations

from typing import Any

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """A name typed as "=HYPERLINK(…)" must stay text: prefix an apostrophe (OWASP CSV rule)."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value

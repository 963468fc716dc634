"""Codes and keys: the patterns the model enforces, and checks for text from elsewhere."""

from __future__ import annotations

import re

CODE_PATTERN = r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}"
KEY_PATTERN = r"[a-z][a-z0-9_-]{0,63}"

_CODE_RE = re.compile(CODE_PATTERN)
_KEY_RE = re.compile(KEY_PATTERN)


def is_code(text: str) -> bool:
    """Whether text is a well-formed campaign or unit code. Anything else names nothing, so
    a caller can answer "not found" without sending it to the database, which may refuse
    it outright (PostgreSQL and NUL; a lone surrogate cannot even be encoded)."""
    return _CODE_RE.fullmatch(text) is not None


def is_key(text: str) -> bool:
    """Whether text is a well-formed key (domain, phase, gate); see is_code."""
    return _KEY_RE.fullmatch(text) is not None


_SLUG = re.compile(r"[^a-z0-9-]+")


def artifact_slug(text: str) -> str:
    """Prefect artifact keys allow only [a-z0-9-]."""
    return _SLUG.sub("-", text.lower()).strip("-") or "x"

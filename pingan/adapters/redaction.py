"""Masking secrets in text that came from outside (a robot's reply, a library's error).

A receiver may echo a key back in any shape: as sent, upper-cased, URL-encoded (with either
case of hex digits), JSON-escaped, broken across a line break, or cut short by its own
limit. ``redact`` therefore compares a canonical form of the text — escapes decoded,
whitespace dropped, lower case — with the canonical form of each secret, and masks every
run of the text that spells ``MIN_FRAGMENT`` or more consecutive characters of a secret
(the whole secret when it is shorter, or when it is a URL whose host and path are not
secret; its credential parts are passed separately). Callers mask first and cut afterwards:
a cut through a key can then only ever show ``***``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Final
from urllib.parse import quote

REDACTED: Final = "***"
# A fragment this long of a random key is worth masking; shorter runs (a shared "ab") are
# coincidence, and masking them would shred ordinary text.
MIN_FRAGMENT: Final = 6
# The most foreign text a caller should pass: enough for any error worth storing.
SCAN_LIMIT: Final = 8000

# One escape or one piece of whitespace: %XX, \uXXXX, a JSON/C line-break escape, a space.
_PIECE: Final = re.compile(r"%([0-9A-Fa-f]{2})|\\u([0-9A-Fa-f]{4})|\\[nrt]|\s+")


def _canonical(text: str) -> tuple[str, list[tuple[int, int]]]:
    """(canonical text, for each of its characters the span of ``text`` it came from)."""
    chars: list[str] = []
    spans: list[tuple[int, int]] = []

    def plain(start: int, end: int) -> None:
        for i in range(start, end):
            for c in text[i].lower():  # lower() may give two characters for one
                chars.append(c)
                spans.append((i, i + 1))

    pos = 0
    for m in _PIECE.finditer(text):
        plain(pos, m.start())
        hex_digits = m.group(1) or m.group(2)
        if hex_digits:
            for c in chr(int(hex_digits, 16)).lower():
                chars.append(c)
                spans.append((m.start(), m.end()))
        pos = m.end()
    plain(pos, len(text))
    return "".join(chars), spans


def _grams(secrets: Iterable[str | None]) -> dict[int, set[str]]:
    """{fragment length: canonical fragments} over every secret and its URL-encoded form."""
    grams: dict[int, set[str]] = {}
    for secret in secrets:
        if not secret:
            continue  # "" would match between every character
        for form in {secret, quote(secret, safe="")}:
            canon, _ = _canonical(form)
            if not canon:
                continue
            whole = "://" in canon or len(canon) <= MIN_FRAGMENT
            k = len(canon) if whole else MIN_FRAGMENT
            grams.setdefault(k, set()).update(canon[i : i + k] for i in range(len(canon) - k + 1))
    return grams


def _marked(canon: str, grams: dict[int, set[str]]) -> bytearray:
    mark = bytearray(len(canon))
    for k, fragments in grams.items():
        for i in range(len(canon) - k + 1):
            if canon[i : i + k] in fragments:
                mark[i : i + k] = b"\x01" * k
    return mark


def redact(text: str, secrets: Iterable[str | None]) -> str:
    """``text`` with every run that spells a secret (or ``MIN_FRAGMENT`` characters of one),
    in any case, encoding or line breaking, replaced by ``***``."""
    grams = _grams(secrets)
    if not grams or not text:
        return text
    canon, spans = _canonical(text)
    mark = _marked(canon, grams)
    out: list[str] = []
    pos = 0
    i = 0
    while i < len(canon):
        if not mark[i]:
            i += 1
            continue
        j = i
        while j + 1 < len(canon) and mark[j + 1]:
            j += 1
        start, end = spans[i][0], spans[j][1]
        if start >= pos:
            out += [text[pos:start], REDACTED]
        else:  # two characters from one escape: the run already began inside it
            out.append(REDACTED)
        pos = max(pos, end)
        i = j + 1
    out.append(text[pos:])
    return "".join(out)


def masked_snippet(text: str, secrets: Iterable[str | None], limit: int) -> str:
    """At most ``limit`` characters of foreign ``text``, masked before it is cut."""
    return redact(text[:SCAN_LIMIT], secrets)[:limit].strip()

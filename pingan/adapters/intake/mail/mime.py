"""A fast, bounded reader for the common mail: one level of multipart whose parts are all
leaves (text, attachments), the way mail clients send a file.

Python's feedparser compiles a regular expression for every multipart boundary it meets,
and a boundary is unique to its mail, so re's cache never helps: ~3 ms a mail, most of the
cost of reading a small submission. Here the boundary is found with bytes.find instead;
each header block is still parsed by ``email`` (compat32), and each part's body is decoded
by ``email`` itself (Message.get_payload), so what comes out is what the full parser gives.

Anything this reader does not recognise exactly (no multipart, a nested multipart or a
forwarded mail, a bare CR, a defect in any header block, a missing closing boundary, a line
that starts like the boundary but is not one, too many parts) gives None, and the caller
parses the mail with ``email`` as before.
"""

from __future__ import annotations

import re
from email.message import Message

# RFC 2046: a boundary is 1 to 70 characters.
MAX_BOUNDARY = 70
# More parts than this (a hostile mail can carry thousands) go to the full parser.
MAX_PARTS = 100
# A header line as email's parser recognises one (feedparser.headerRE, less "From ").
_NAME = re.compile(r"([\041-\071\073-\176]+):")


def split_simple(raw: bytes) -> tuple[Message, list[Message]] | None:
    """(the mail's header, its parts, each with its undecoded body as payload), or None
    when the mail is not a plain one-level multipart."""
    if raw.count(b"\r") != raw.count(b"\r\n"):
        return None  # a bare CR ends a line for email, not for this reader
    top_end = None if raw.startswith((b"\r\n", b"\n")) else _header_end(raw, 0)
    if top_end is None:  # no header block (or none at all): email reads it all as text
        return None
    top = _headers(raw[:top_end])
    if top is None or top.get_content_maintype() != "multipart":
        return None
    if top.get_content_subtype() == "digest":
        return None  # its parts default to message/rfc822
    boundary = top.get_boundary()
    if not boundary or len(boundary) > MAX_BOUNDARY or not boundary.isascii():
        return None
    bodies = _bodies(raw, top_end, b"--" + boundary.encode("ascii"))
    if bodies is None:
        return None
    parts: list[Message] = []
    for start, end in bodies:
        part = _part(raw, start, end)
        if part is None:
            return None
        parts.append(part)
    return top, parts


def _bodies(raw: bytes, pos: int, sep: bytes) -> list[tuple[int, int]] | None:
    """(start, end) of each part between the delimiter lines; None unless the closing
    delimiter comes and every line starting with sep is a delimiter."""
    found: list[tuple[int, int]] = []
    opened: int | None = None  # where the current part starts
    line = _next_line(raw, pos, sep)
    while line >= 0:
        eol = raw.find(b"\n", line)
        rest = raw[line + len(sep) : len(raw) if eol < 0 else eol].rstrip(b"\r")
        closing = rest.startswith(b"--")
        if (rest[2:] if closing else rest).strip(b" \t"):
            return None  # "--boundary-and-more": email reads it as text, we do not try
        if opened is not None:
            # The line break before a delimiter belongs to the delimiter.
            end = line - 2 if raw.startswith(b"\r\n", line - 2) else line - 1
            found.append((opened, max(opened, end)))
            if len(found) > MAX_PARTS:
                return None
        if closing:
            return found or None
        if eol < 0:
            return None
        opened = eol + 1
        line = _next_line(raw, opened, sep)
    return None


def _next_line(raw: bytes, pos: int, sep: bytes) -> int:
    """The start of the first line at or after pos (a line start) that begins with sep."""
    if raw.startswith(sep, pos):
        return pos
    at = raw.find(b"\n" + sep, pos)
    return at + 1 if at >= 0 else -1


def _part(raw: bytes, start: int, end: int) -> Message | None:
    """One part: its header parsed by email, its body set as the payload email would hold."""
    if raw.startswith(b"\r\n", start) or raw.startswith(b"\n", start):
        head_end: int | None = start  # no header at all: text/plain
    else:
        head_end = _header_end(raw, start, end)
    if head_end is None:
        return None
    part = _headers(raw[start:head_end]) if head_end > start else Message()
    if part is None or part.get_content_maintype() in ("multipart", "message"):
        return None
    body_start = head_end if head_end > start else _after_newline(raw, start)
    part.set_payload(raw[body_start:end].decode("ascii", "surrogateescape"))
    return part


def _header_end(raw: bytes, start: int, end: int | None = None) -> int | None:
    """Index just past the blank line that ends the header block starting at start."""
    stop = len(raw) if end is None else end
    ends = [i for i in (raw.find(b"\n\r\n", start, stop), raw.find(b"\n\n", start, stop)) if i >= 0]
    if not ends:
        return None
    at = min(ends)
    return at + (3 if raw.startswith(b"\n\r\n", at) else 2)


def _after_newline(raw: bytes, start: int) -> int:
    return start + (2 if raw.startswith(b"\r\n", start) else 1)


def _headers(block: bytes) -> Message | None:
    """The header block as email's parser (compat32) stores it; None for whatever would
    make it note a defect or read it differently (a "From " line, a line that is no header,
    a continuation first), which the full parser then handles."""
    msg = Message()
    name: str | None = None
    lines: list[str] = []
    for line in block.decode("ascii", "surrogateescape").split("\n"):
        if line in ("", "\r"):
            break
        line += "\n"
        if line[0] in " \t":
            if name is None:
                return None
            lines.append(line)
            continue
        if name is not None:
            msg.set_raw(*_header_source(lines))
        found = _NAME.match(line)
        if found is None:
            return None
        name, lines = found.group(1), [line]
    if name is not None:
        msg.set_raw(*_header_source(lines))
    return msg


def _header_source(lines: list[str]) -> tuple[str, str]:
    """compat32's header_source_parse, the way email's parser calls it."""
    name, value = lines[0].split(":", 1)
    value = value.lstrip(" \t") + "".join(lines[1:])
    return name, value.rstrip("\r\n")

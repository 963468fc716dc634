"""One fetched mail → its identity, sender, subject, date and attachments.

Parsed with the compat32 policy (the header registry of policy.default costs ~10 ms a mail)
and decoded here: RFC 2047 words and RFC 2231 parameters, GBK, GB2312 (read as GBK, its
superset, as mail clients mean it), UTF-8, and raw 8-bit headers. Attachments of forwarded
mails (nested ``message/rfc822``) count as the mail's own.

Each attachment is hashed once and kept in memory while the batch's Spool budget lasts,
else written to the spool folder, so a batch holds a bounded amount of decoded files.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import policy
from email.errors import HeaderParseError
from email.header import decode_header
from email.message import Message
from email.parser import BytesParser
from email.utils import parseaddr, parsedate_to_datetime
from pathlib import Path
from typing import BinaryIO

from pingan.adapters.intake.mail.mime import split_simple

# Nested forwards deeper than this are not opened (a hostile mail can nest thousands).
MAX_DEPTH = 5
MAX_ATTACHMENTS = 50
_MAX_NESTING = 50  # multipart levels, forwards included
_SEPARATORS = re.compile(r"[/\\]")
_UNDECODED = re.compile("[\udc80-\udcff]")  # raw 8-bit bytes, as email's parser keeps them
_GBK_ALIASES = {"gb2312", "gb_2312-80", "gb2312-80", "x-gbk", "euc-cn", "x-euc-cn", "cp936"}
_HEADERS = ("auto-submitted", "precedence", "x-autoreply", "x-autorespond", "x-application")


class Spool:
    """Where a batch's attachments wait: memory up to budget bytes, then files in folder."""

    def __init__(self, folder: Path, budget: int) -> None:
        self.folder = folder
        self.budget = budget
        self._n = 0

    def keep(self, data: bytes) -> tuple[Path | None, bytes | None]:
        if len(data) <= self.budget:
            self.budget -= len(data)
            return None, data
        self._n += 1
        path = self.folder / f"{self._n:06d}"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        return path, None


@dataclass(frozen=True, slots=True)
class Attachment:
    name: str
    size: int
    sha256: str
    path: Path | None  # spooled to a file, or
    data: bytes | None  # held in memory

    def open(self) -> BinaryIO:
        if self.data is not None:
            return io.BytesIO(self.data)
        assert self.path is not None
        return self.path.open("rb")

    def remove(self) -> None:
        if self.path is not None:
            self.path.unlink(missing_ok=True)


@dataclass(slots=True)
class ParsedMail:
    message_key: str
    message_id: str | None
    sender: str  # the From address, case-folded; "" when it has none
    subject: str
    sent_at: datetime | None  # the Date header, aware
    headers: dict[str, str]  # lower-cased names the automatic-mail test reads
    attachments: list[Attachment] = field(default_factory=list)
    too_many: bool = False


def message_key(message_id: str | None, raw: bytes) -> str:
    basis = message_id.strip().encode("utf-8", "replace") if message_id else raw
    return hashlib.sha256(basis).hexdigest()


def parse_header(raw: bytes) -> ParsedMail:
    """Identity, sender, subject and date from the header alone."""
    msg = BytesParser(policy=policy.compat32).parsebytes(raw, headersonly=True)
    return _envelope(msg, raw)


def parse_mail(raw: bytes, spool: Spool) -> ParsedMail:
    """Everything, each attachment kept by spool. The common one-level multipart is split
    by mime.split_simple (no regex compiled per boundary); anything else by email."""
    simple = split_simple(raw)
    if simple is None:
        msg = BytesParser(policy=policy.compat32).parsebytes(raw)
        parts: Iterator[Message] = _attachment_parts(msg, 0)
    else:
        msg = simple[0]
        parts = (p for p in simple[1] if _is_attachment(p))
    mail = _envelope(msg, raw)
    for n, part in enumerate(parts):
        if n >= MAX_ATTACHMENTS:
            mail.too_many = True
            break
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        path, held = spool.keep(data)
        digest = hashlib.sha256(data).hexdigest()
        mail.attachments.append(Attachment(_name(part, n), len(data), digest, path, held))
    return mail


def decode_text(value: object) -> str:
    """A header's text: RFC 2047 words decoded, raw 8-bit read as UTF-8 else GBK."""
    if value is None:
        return ""
    text = str(value)
    if not text.isascii() and _UNDECODED.search(text):
        raw = text.encode("ascii", "surrogateescape")
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            return raw.decode("gbk", "replace")
    if "=?" not in text:
        return text
    try:
        parts = decode_header(text)
    except (ValueError, IndexError, AssertionError, HeaderParseError):
        return text  # a broken encoded word (bad base64): shown as sent
    return "".join(_decode_part(chunk, charset) for chunk, charset in parts)


def _decode_part(chunk: bytes | str, charset: str | None) -> str:
    if isinstance(chunk, str):
        return chunk
    name = (charset or "ascii").lower()
    name = "gbk" if name in _GBK_ALIASES else name
    try:
        return chunk.decode(name, "replace")
    except LookupError:
        return chunk.decode("utf-8", "replace")


def _envelope(msg: Message, raw: bytes) -> ParsedMail:
    message_id = _header(msg, "message-id") or None
    sender = _from_address(msg)
    subject = " ".join(_header(msg, "subject").split())
    headers = {name: _header(msg, name) for name in _HEADERS}
    headers["subject"] = subject
    headers["from-address"] = sender
    key_basis = raw if message_id else raw.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
    return ParsedMail(
        message_key=message_key(message_id, key_basis),
        message_id=message_id[:500] if message_id else None,
        sender=sender,
        subject=subject,
        sent_at=_date(msg),
        headers=headers,
    )


def _header(msg: Message, name: str) -> str:
    # Raw: compat32's get() turns undeclared 8-bit text into U+FFFD before we can read it.
    for key, value in msg.raw_items():
        if key.lower() == name:
            return decode_text(value).strip()
    return ""


def _from_address(msg: Message) -> str:
    _, address = parseaddr(_header(msg, "from"))
    address = address.strip().casefold()
    return address[:254] if "@" in address else ""


def _date(msg: Message) -> datetime | None:
    text = _header(msg, "date")
    try:
        when = parsedate_to_datetime(text) if text else None
    except (ValueError, TypeError, IndexError):
        return None
    if when is not None and when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when


def _attachment_parts(part: Message, forwards: int, level: int = 0) -> Iterator[Message]:
    """The attachment parts under part, opening forwarded mails up to MAX_DEPTH deep."""
    if level > _MAX_NESTING:
        return
    if part.get_content_type() == "message/rfc822":
        if forwards < MAX_DEPTH:
            for inner in _subparts(part):
                yield from _attachment_parts(inner, forwards + 1, level + 1)
        return
    if part.is_multipart():
        for sub in _subparts(part):
            yield from _attachment_parts(sub, forwards, level + 1)
    elif _is_attachment(part):
        yield part


def _subparts(part: Message) -> list[Message]:
    payload = part.get_payload()
    return [p for p in payload if isinstance(p, Message)] if isinstance(payload, list) else []


def _is_attachment(part: Message) -> bool:
    if part.get_content_disposition() == "attachment":
        return True
    # Inline images with a Content-ID are pictures in the text (signatures, logos).
    if part.get("content-id") is not None:
        return False
    return _raw_name(part) is not None


def _raw_name(part: Message) -> str | None:
    try:
        return part.get_filename() or part.get_param("name", header="content-type")  # type: ignore[return-value]
    except (ValueError, LookupError, TypeError, UnicodeError):
        return None


def _name(part: Message, n: int) -> str:
    raw = _raw_name(part)
    if isinstance(raw, tuple):  # an RFC 2231 value get_param left undecoded
        raw = None
    name = _SEPARATORS.split(decode_text(raw or ""))[-1].strip()
    return name or f"附件{n + 1}"

"""One fetched mail → its identity, sender, subject, date and attachments.

Attachments (RFC 2231 / RFC 2047 names, GBK or UTF-8) are written one at a time to a spool
folder and hashed on the way, so a mail's decoded files are never all in memory at once.
Attachments of forwarded mails (nested ``message/rfc822``) count as the mail's own.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage, Message
from email.parser import BytesParser
from email.utils import parsedate_to_datetime
from pathlib import Path

# Nested forwards deeper than this are not opened (a hostile mail can nest thousands).
MAX_DEPTH = 5
MAX_ATTACHMENTS = 50
_MAX_NESTING = 50  # multipart levels, forwards included
_SEPARATORS = re.compile(r"[/\\]")


@dataclass(frozen=True, slots=True)
class Attachment:
    name: str
    path: Path
    size: int
    sha256: str


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
    msg = BytesParser(policy=policy.default).parsebytes(raw, headersonly=True)
    return _envelope(msg, raw)


def parse_mail(raw: bytes, spool: Path) -> ParsedMail:
    """Everything, with each attachment written under spool (which must exist)."""
    msg = BytesParser(policy=policy.default).parsebytes(raw)
    mail = _envelope(msg, raw)
    for n, part in enumerate(_attachment_parts(msg, 0)):
        if n >= MAX_ATTACHMENTS:
            mail.too_many = True
            break
        mail.attachments.append(_spool(part, n, spool))
    return mail


def _envelope(msg: Message, raw: bytes) -> ParsedMail:
    message_id = _header(msg, "message-id") or None
    sender = _from_address(msg)
    headers = {
        name: _header(msg, name)
        for name in ("auto-submitted", "precedence", "x-autoreply", "x-autorespond")
    }
    headers["x-application"] = _header(msg, "x-application")
    subject = " ".join(_header(msg, "subject").split())
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
    try:
        value = msg.get(name)
    # A malformed header can make the registry raise on access.
    except (ValueError, IndexError, TypeError):
        return ""
    return "" if value is None else str(value).strip()


def _from_address(msg: Message) -> str:
    try:
        header = msg.get("from")
        addresses: tuple[Address, ...] = getattr(header, "addresses", ())
    except (ValueError, IndexError, TypeError):
        return ""
    for address in addresses:
        if address.addr_spec and "@" in address.addr_spec:
            return address.addr_spec.strip().casefold()[:254]
    return ""


def _date(msg: Message) -> datetime | None:
    text = _header(msg, "date")
    try:
        when = parsedate_to_datetime(text) if text else None
    except (ValueError, TypeError, IndexError):
        return None
    if when is not None and when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when


def _attachment_parts(part: Message, forwards: int, level: int = 0) -> Iterator[EmailMessage]:
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
    elif isinstance(part, EmailMessage) and _is_attachment(part):
        yield part


def _subparts(part: Message) -> list[Message]:
    payload = part.get_payload()
    return [p for p in payload if isinstance(p, Message)] if isinstance(payload, list) else []


def _is_attachment(part: EmailMessage) -> bool:
    disposition = part.get_content_disposition()
    if disposition == "attachment":
        return True
    # Inline images with a Content-ID are pictures in the text (signatures, logos).
    if part.get("content-id") is not None:
        return False
    return part.get_filename() is not None


def _spool(part: EmailMessage, n: int, spool: Path) -> Attachment:
    name = _name(part, n)
    payload = part.get_payload(decode=True)
    data = payload if isinstance(payload, bytes) else b""
    path = spool / f"{n:03d}"
    suffix = 0
    while path.exists():
        suffix += 1
        path = spool / f"{n:03d}-{suffix}"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    return Attachment(name, path, len(data), hashlib.sha256(data).hexdigest())


def _name(part: EmailMessage, n: int) -> str:
    try:
        raw = part.get_filename()
    except (ValueError, LookupError, TypeError):
        raw = None
    name = _SEPARATORS.split(raw or "")[-1].strip()
    return name or f"附件{n + 1}"

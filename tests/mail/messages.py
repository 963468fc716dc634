"""Raw mails as units send them: EmailMessage for the ordinary ones, hand-written MIME for
the encodings mail clients really use (GBK RFC 2047 subjects, RFC 2231 file names)."""

from __future__ import annotations

import base64
import uuid
from email.message import EmailMessage
from email.policy import SMTP


def pdf(text: str) -> bytes:
    return b"%PDF-1.4\n%" + text.encode() + b"\n%%EOF\n"


def mail(
    sender: str,
    subject: str,
    files: list[tuple[str, bytes]] = (),  # type: ignore[assignment]
    *,
    headers: dict[str, str] | None = None,
    message_id: str | None = None,
) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = "zzzx@mail.test"
    msg["Subject"] = subject
    msg["Date"] = "Thu, 01 Jun 2017 09:30:00 +0800"
    msg["Message-ID"] = message_id or f"<{uuid.uuid4().hex}@unit.example>"
    for k, v in (headers or {}).items():
        msg[k] = v
    msg.set_content("材料见附件。")
    for name, data in files:
        msg.add_attachment(data, maintype="application", subtype="pdf", filename=name)
    return msg.as_bytes(policy=SMTP)


def forwarded(sender: str, subject: str, inner: bytes) -> bytes:
    """A mail forwarding inner as an attached message/rfc822."""
    from email import message_from_bytes, policy

    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = "zzzx@mail.test"
    msg["Subject"] = subject
    msg["Message-ID"] = f"<{uuid.uuid4().hex}@unit.example>"
    msg.set_content("转发：见原邮件。")
    msg.add_attachment(message_from_bytes(inner, policy=policy.default))
    return msg.as_bytes(policy=SMTP)


def gbk_mail(sender: str, subject: str, name_2231: str, name_2047_gbk: str, data: bytes) -> bytes:
    """Subject as RFC 2047 GBK; one file named by RFC 2231 (UTF-8), one by RFC 2047 (GBK)."""
    subj = "=?GBK?B?" + base64.b64encode(subject.encode("gbk")).decode() + "?="
    n2047 = "=?GBK?B?" + base64.b64encode(name_2047_gbk.encode("gbk")).decode() + "?="
    from urllib.parse import quote

    n2231 = "UTF-8''" + quote(name_2231.encode("utf-8"))
    body = base64.encodebytes(data).decode()
    return (
        f"From: {sender}\r\nTo: zzzx@mail.test\r\nSubject: {subj}\r\n"
        f"Message-ID: <{uuid.uuid4().hex}@unit.example>\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/mixed; boundary="XyZ"\r\n\r\n'
        "--XyZ\r\nContent-Type: text/plain; charset=GBK\r\n"
        "Content-Transfer-Encoding: base64\r\n\r\n"
        + base64.encodebytes("材料见附件".encode("gbk")).decode()
        + "\r\n--XyZ\r\nContent-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n"
        f"Content-Disposition: attachment; filename*={n2231}\r\n\r\n{body}\r\n"
        "--XyZ\r\nContent-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n"
        f'Content-Disposition: attachment; filename="{n2047}"\r\n\r\n'
        + base64.encodebytes(data + b"%2\n").decode()
        + "\r\n--XyZ--\r\n"
    ).encode("ascii")

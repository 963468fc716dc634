"""Email through apprise's ``mailto://`` / ``mailtos://`` plugin.

The SMTP account is one secret (``smtp_ref``) holding an apprise mail URL; the recipient is
``target.address``. Found by experiment against aiosmtpd with apprise 2.0:

- A plain local server (no TLS, no AUTH): ``mailto://127.0.0.1:PORT?from=noreply@example.org``.
  ``mailto://`` means no TLS at all and the port in the URL is used as is; ``from=`` is
  needed whenever the host is not a mail domain (apprise would make ``user@host``).
- With AUTH over plain SMTP (e.g. an internal relay):
  ``mailto://USER:PASSWORD@relay.example:25?from=noreply@example.org`` — apprise logs in
  whenever both user and password are present. Special characters in the password must be
  percent-encoded in the URL.
- STARTTLS on 587: ``mailtos://USER:PASSWORD@smtp.example.org:587?from=…``; implicit TLS on
  465: add ``&mode=ssl``. ``smtp=HOST`` sets the server when the URL host is a mail domain.
- Whatever the URL says, we set ``to=`` (the recipient), drop any recipients in its path, and
  force ``format=text``; we also pass ``body_format=text``, because text converted to HTML
  loses its line breaks. ``cto=`` (socket timeout) defaults to our ``timeout``.

Attachments are written to a temporary directory under ASCII-safe names (non-ASCII names are
mangled by some mail clients) and handed to apprise by path. Apprise only reports a boolean,
so every failure — refusal, bad login, no connection — is one retryable ``smtp`` error; the
outbox's attempt limit turns a persistent one into ``dead``. Apprise's DEBUG log masks the
password, but the ``apprise`` logger is kept at INFO+ anyway (it prints robot keys).
"""

from __future__ import annotations

import os
import re
import tempfile
import unicodedata
from pathlib import Path
from typing import Final
from urllib.parse import quote, unquote, urlsplit, urlunsplit

import apprise
from apprise.attachment.file import AttachFile

from pingan.adapters.channels import _http
from pingan.adapters.channels.base import (
    Attachment,
    ChannelName,
    DeliveryError,
    Message,
    Receipt,
    Target,
)
from pingan.adapters.redaction import masked_snippet
from pingan.adapters.secrets import SecretResolver, quiet_apprise_logger

# Same shape the roster accepts (pingan/adapters/intake/roster/rules.py).
_EMAIL: Final = re.compile(
    r"[^@\s\x00-\x1f\x7f]+@(?:[^@\s\x00-\x1f\x7f.]+\.)+[^@\s\x00-\x1f\x7f.]+"
)
_UNSAFE: Final = re.compile(r"[^A-Za-z0-9._-]+")
_OVERRIDDEN: Final = {"to", "format"}


def safe_filename(name: str, index: int) -> str:
    """An ASCII name keeping what it can of ``name`` (accents dropped, the rest ``_``).

    "整改报告.xlsx" has nothing readable left, so it becomes "attachment-1.xlsx": the
    extension is what lets the recipient's client open it.
    """
    stem, suffix = os.path.splitext(name)
    safe_stem = _ascii(stem).strip("._-")
    safe_suffix = _ascii(suffix.lstrip(".")).strip("._-")
    stem_part = safe_stem or f"attachment-{index}"
    return f"{stem_part}.{safe_suffix}" if safe_suffix else stem_part


def _ascii(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return _UNSAFE.sub("_", folded)


def mail_url(smtp_url: str, recipient: str, timeout: float) -> str:
    """The operator's SMTP URL addressed to ``recipient`` in plain-text format."""
    parts = urlsplit(smtp_url.strip())
    if parts.scheme.lower() not in ("mailto", "mailtos"):
        raise ValueError("SMTP 地址应以 mailto:// 或 mailtos:// 开头")
    # Edit the query textually: re-encoding it would mangle apprise's "+Header=" keys.
    kept = [
        pair
        for pair in parts.query.split("&")
        if pair and unquote(pair.partition("=")[0]).lower() not in _OVERRIDDEN
    ]
    if not any(unquote(p.partition("=")[0]).lower() == "cto" for p in kept):
        kept.append(f"cto={timeout:g}")
    kept += [f"to={quote(recipient, safe='@')}", "format=text"]
    return urlunsplit((parts.scheme, parts.netloc, "", "&".join(kept), ""))


class EmailChannel:
    name: ChannelName = "email"

    def __init__(self, resolver: SecretResolver, smtp_ref: str, timeout: float = 30) -> None:
        quiet_apprise_logger()
        self._resolver = resolver
        self._smtp_ref = smtp_ref
        self._timeout = timeout

    def __repr__(self) -> str:
        return f"EmailChannel({self._smtp_ref})"

    def parts(self, target: Target, message: Message) -> int:
        return 1

    def endpoint(self, target: Target) -> str:
        # Hashed, so a rate-limit key or log line does not carry the address itself.
        return _http.endpoint_key(self.name, target.address.strip().lower())

    def send(self, target: Target, message: Message) -> Receipt:
        recipient = target.address.strip()
        if not _EMAIL.fullmatch(recipient):
            raise DeliveryError("收件地址不是有效的电子邮件地址", False, "address")
        smtp_url = _http.resolve(self._resolver, Target("email", self._smtp_ref))
        try:
            url = mail_url(smtp_url, recipient, self._timeout)
        except ValueError as exc:
            # The ValueError's text is ours and secret-free.
            raise DeliveryError(f"{exc}（密钥引用 {self._smtp_ref}）", False, "config") from None
        secrets = _url_secrets(smtp_url)
        asset = apprise.AppriseAsset(app_id="pingan", storage_mode="memory")
        notifier = apprise.Apprise(asset=asset)
        if not notifier.add(url):
            raise DeliveryError(
                f"apprise 无法解析密钥引用 {self._smtp_ref} 中的 SMTP 地址", False, "config"
            )
        failure: str | None = None
        with tempfile.TemporaryDirectory(prefix="pingan-mail-") as tmp:
            attach = _write_attachments(Path(tmp), message.attachments, asset)
            try:
                ok = bool(
                    notifier.notify(
                        body=message.body,
                        title=message.subject,
                        body_format=apprise.NotifyFormat.TEXT,
                        attach=attach,
                    )
                )
            except Exception as exc:  # apprise is a black box; its message may hold the URL
                ok, failure = False, masked_snippet(f"{type(exc).__name__}: {exc}", secrets, 500)
        if not ok:
            detail = "邮件发送失败" + (f"（{failure}）" if failure else "")
            raise DeliveryError(detail, True, "smtp")
        return Receipt(parts=1)


def _write_attachments(
    directory: Path, attachments: tuple[Attachment, ...], asset: apprise.AppriseAsset
) -> apprise.AppriseAttachment | None:
    if not attachments:
        return None
    attach = apprise.AppriseAttachment(asset=asset)
    used: set[str] = set()
    for index, item in enumerate(attachments, 1):
        name = safe_filename(item.filename, index)
        if name.lower() in used:
            name = f"{index}-{name}"
        used.add(name.lower())
        path = directory / name
        path.write_bytes(item.content)
        # The generic default would override apprise's better guess from the extension.
        mime = None if item.mime == "application/octet-stream" else item.mime
        # AttachFile.__init__ is unannotated in apprise 2.0.
        attach.add(AttachFile(path=str(path), mimetype=mime, asset=asset))  # type: ignore[no-untyped-call]
    return attach


def _url_secrets(smtp_url: str) -> tuple[str, ...]:
    parts = urlsplit(smtp_url.strip())
    password = parts.password
    found = [smtp_url.strip()]
    if password:
        found += [password, unquote(password)]
    return tuple(found)

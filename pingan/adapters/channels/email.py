"""Email on the standard library: smtplib + email.message.EmailMessage.

- The server is typed (``SmtpSettings``: host, port, security starttls | ssl | none, user,
  password by secret reference, from address and name); an old ``smtp_ref`` apprise URL is
  read into the same settings (pingan.adapters.channels.smtp_settings).
- One SMTP connection serves a batch: it is opened at the first send, kept across sends, and
  closed by ``close()`` at the end of a dispatch run. A connection the server dropped
  meanwhile is reopened once, transparently; any other failure closes it, and the next send
  opens a fresh one.
- Replies decide: 5xx is permanent (``550 no such mailbox`` is dead after one attempt), 4xx
  retryable, and so are connection errors and timeouts. A refused login (535) is permanent.
- Attachments keep their (Chinese) names, encoded per RFC 2231 (``filename*=utf-8''…``).
- ``message.html`` (already escaped by its author) goes as the HTML alternative; with a
  personal link and no html, a small one is built here, every line escaped.
"""

from __future__ import annotations

import contextlib
import re
import smtplib
import socket
import ssl
import threading
from email.message import EmailMessage
from email.utils import formataddr, formatdate, make_msgid
from typing import Final

from pingan.adapters.channels import _http
from pingan.adapters.channels.base import ChannelName, DeliveryError, Message, Receipt, Target
from pingan.adapters.channels.limits import RateLimit
from pingan.adapters.channels.smtp_settings import SmtpSettings, settings_from_url
from pingan.adapters.redaction import masked_snippet
from pingan.adapters.secrets import SecretResolver
from pingan.core.markup import html_text

# Same shape the roster accepts (pingan/adapters/intake/roster/rules.py).
_EMAIL: Final = re.compile(
    r"[^@\s\x00-\x1f\x7f]+@(?:[^@\s\x00-\x1f\x7f.]+\.)+[^@\s\x00-\x1f\x7f.]+"
)
ACTION_LABEL: Final = "立即报送"


class EmailChannel:
    name: ChannelName = "email"
    markups: tuple[str, ...] = ("html",)  # what it renders besides the plain body

    def __init__(
        self, resolver: SecretResolver, smtp: SmtpSettings | str, timeout: float = 30
    ) -> None:
        """``smtp``: typed settings, or the secret reference of an old apprise mail URL."""
        self._resolver = resolver
        self._smtp = smtp
        self._timeout = timeout
        self._lock = threading.Lock()
        self._conn: smtplib.SMTP | None = None
        self._secrets: tuple[str, ...] = ()
        self.connections = 0  # connections opened (tests, bench)

    def __repr__(self) -> str:
        return f"EmailChannel({self._smtp!r})"

    def limits(self) -> tuple[RateLimit, ...]:
        return ()

    def parts(self, target: Target, message: Message) -> int:
        return 1

    def endpoint(self, target: Target) -> str:
        # Hashed, so a rate-limit key or log line does not carry the address itself.
        return _http.endpoint_key(self.name, target.address.strip().lower())

    def close(self) -> None:
        with self._lock:
            self._drop(quit_=True)

    def release(self) -> None:
        """End of a dispatch run: QUIT the batch's connection (the next send reconnects)."""
        self.close()

    def send(self, target: Target, message: Message) -> Receipt:
        recipient = target.address.strip()
        if not _EMAIL.fullmatch(recipient):
            raise DeliveryError("收件地址不是有效的电子邮件地址", False, "address")
        with self._lock:
            settings, password = self._settings()
            mail = build_message(settings, recipient, message)
            error = self._deliver(settings, password, mail, recipient)
        if error is not None:
            raise error
        return Receipt(parts=1)

    def _settings(self) -> tuple[SmtpSettings, str | None]:
        smtp = self._smtp
        if isinstance(smtp, SmtpSettings):
            password = None
            if smtp.password_ref:
                password = _http.resolve(self._resolver, Target("email", smtp.password_ref))
            self._secrets = tuple(filter(None, (password,)))
            return smtp, password
        url = _http.resolve(self._resolver, Target("email", smtp))
        try:
            settings, password = settings_from_url(url)
        except ValueError as exc:  # our own, secret-free text
            raise DeliveryError(f"{exc}（密钥引用 {smtp}）", False, "config") from None
        self._secrets = tuple(filter(None, (url, password)))
        return settings, password

    def _deliver(
        self, settings: SmtpSettings, password: str | None, mail: EmailMessage, rcpt: str
    ) -> DeliveryError | None:
        """Send on the open connection (reopened once if the server dropped it)."""
        for fresh in (self._conn is None, True):
            try:
                conn = self._connection(settings, password)
                conn.send_message(mail, settings.from_address, [rcpt])
                return None
            except smtplib.SMTPServerDisconnected:
                self._drop(quit_=False)
                if fresh:
                    return DeliveryError("邮件服务器断开了连接", True, "smtp:disconnected")
            except smtplib.SMTPRecipientsRefused as exc:
                code, text = next(iter(exc.recipients.values()), (550, b""))
                return self._reply_error(code, text, "收件人被拒绝")
            except smtplib.SMTPNotSupportedError:
                self._drop(quit_=True)
                detail = "邮件服务器不支持所需功能（如 STARTTLS 或登录），请检查加密方式设置"
                return DeliveryError(detail, False, "smtp:config")
            except smtplib.SMTPResponseException as exc:
                self._drop(quit_=True)
                return self._reply_error(exc.smtp_code, exc.smtp_error, "邮件服务器拒绝")
            except (OSError, smtplib.SMTPException) as exc:
                self._drop(quit_=False)
                what = "超时" if isinstance(exc, socket.timeout | TimeoutError) else "网络错误"
                return DeliveryError(f"邮件发送{what}（{type(exc).__name__}）", True, "network")
        return None  # not reached: the second round always returns

    def _connection(self, s: SmtpSettings, password: str | None) -> smtplib.SMTP:
        if self._conn is not None:
            return self._conn
        context = ssl.create_default_context()
        conn: smtplib.SMTP
        if s.security == "ssl":
            conn = smtplib.SMTP_SSL(s.host, s.resolved_port, timeout=self._timeout, context=context)
        else:
            conn = smtplib.SMTP(s.host, s.resolved_port, timeout=self._timeout)
        try:
            conn.ehlo()
            if s.security == "starttls":
                conn.starttls(context=context)
                conn.ehlo()
            if s.user and password:
                conn.login(s.user, password)
        except BaseException:
            _quietly_close(conn)
            raise
        self._conn = conn
        self.connections += 1
        return conn

    def _drop(self, *, quit_: bool) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        if quit_:
            with contextlib.suppress(OSError, smtplib.SMTPException):
                conn.quit()
        _quietly_close(conn)

    def _reply_error(self, code: int, text: bytes | str, what: str) -> DeliveryError:
        raw = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
        snippet = masked_snippet(raw, self._secrets, 200)
        detail = f"{what}：{code} {snippet}".rstrip()
        if code == 535:
            detail = f"邮件服务器拒绝登录（{code}），请检查用户名和密码引用"
        return DeliveryError(detail, not 500 <= code < 600, f"smtp:{code}")


def _quietly_close(conn: smtplib.SMTP) -> None:
    with contextlib.suppress(OSError):
        conn.close()


def build_message(settings: SmtpSettings, recipient: str, message: Message) -> EmailMessage:
    """The MIME message (pure): text, an HTML alternative, attachments by their own names."""
    mail = EmailMessage()
    mail["Subject"] = message.subject
    mail["From"] = formataddr((settings.from_name or "", settings.from_address))
    mail["To"] = recipient
    mail["Date"] = formatdate(localtime=False)
    domain = settings.from_address.rpartition("@")[2] or "pingan.local"
    mail["Message-ID"] = make_msgid(domain=domain)
    if message.dedupe_key:
        mail["X-Pingan-Dedupe"] = message.dedupe_key
    body = message.body
    if message.action_url and message.action_url not in body:
        body += f"\n\n{message.action_label or ACTION_LABEL}：{message.action_url}"
    mail.set_content(body, charset="utf-8")
    html = message.html or (action_html(message) if message.action_url else None)
    if html is not None:
        mail.add_alternative(html, subtype="html", charset="utf-8")
    for item in message.attachments:
        maintype, _, subtype = item.mime.partition("/")
        mail.add_attachment(
            item.content,
            maintype=maintype or "application",
            subtype=subtype or "octet-stream",
            filename=item.filename,
        )
    return mail


def action_html(message: Message) -> str:
    """A minimal HTML alternative: the body's lines escaped, and the personal link's button."""
    lines = "".join(f"<p>{html_text(x)}</p>" for x in message.body.splitlines() if x.strip())
    url = html_text(message.action_url or "")
    label = html_text(message.action_label or ACTION_LABEL)
    return f'<html><body>{lines}<p><a href="{url}">{label}</a></p></body></html>'

"""Typed SMTP settings for the email channel, and the old apprise mail URL read into them.

The server is the deployment's (PINGAN_SMTP_HOST, _PORT, _SECURITY, _USER, _PASSWORD_REF,
_FROM, _FROM_NAME); the password is a secret reference resolved at send time. A deployment
still on ``PINGAN_SMTP_REF`` (a secret holding ``mailto://user:password@host:port?from=…``
or ``mailtos://…``, with ``mode=ssl`` for implicit TLS) keeps working: the URL is read into
the same settings when the first mail goes out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal
from urllib.parse import parse_qs, unquote, urlsplit

Security = Literal["starttls", "ssl", "none"]
DEFAULT_PORTS: Final[dict[str, int]] = {"starttls": 587, "ssl": 465, "none": 25}


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    from_address: str
    port: int | None = None
    security: Security = "starttls"
    user: str | None = None
    password_ref: str | None = None  # secret:name / env:NAME
    from_name: str | None = None

    @property
    def resolved_port(self) -> int:
        return self.port or DEFAULT_PORTS[self.security]

    def __repr__(self) -> str:
        return f"SmtpSettings({self.host}:{self.resolved_port}, {self.security})"


def settings_from_url(url: str) -> tuple[SmtpSettings, str | None]:
    """(settings, password) from an apprise ``mailto://`` / ``mailtos://`` URL; ValueError
    (with a secret-free Chinese text) when it is not one."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if scheme not in ("mailto", "mailtos"):
        raise ValueError("SMTP 地址应以 mailto:// 或 mailtos:// 开头")
    query = {k.lower(): v[-1] for k, v in parse_qs(parts.query).items()}
    security: Security = "none"
    if scheme == "mailtos":
        security = "ssl" if query.get("mode", "").lower() == "ssl" else "starttls"
    host = query.get("smtp") or parts.hostname or ""
    if not host:
        raise ValueError("SMTP 地址中没有服务器主机名")
    user = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password else None
    sender = query.get("from") or (f"{user}@{parts.hostname}" if user and "@" not in user else user)
    if not sender or "@" not in sender:
        raise ValueError("SMTP 地址中没有发件地址（from=）")
    try:
        port = parts.port
    except ValueError:
        raise ValueError("SMTP 地址中的端口无效") from None
    settings = SmtpSettings(
        host=host,
        from_address=sender,
        port=port,
        security=security,
        user=user if password else None,
        from_name=query.get("name") or None,
    )
    return settings, password

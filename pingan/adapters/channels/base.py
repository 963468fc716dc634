"""The channel port: what the outbox dispatcher needs from any way of delivering a message.

Implementations: email (apprise mailto), WeCom and DingTalk group robots (httpx, errcode
aware), a generic JSON webhook, a JSONL file (demo) and a recording fake (tests). None of
them may put a secret into an exception text, a log line or a repr.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Protocol

ChannelName = Literal["email", "wecom", "dingtalk", "webhook", "file"]


@dataclass(frozen=True)
class Attachment:
    filename: str  # ASCII-safe; channels that cannot attach ignore attachments
    content: bytes
    mime: str = "application/octet-stream"


@dataclass(frozen=True)
class Message:
    subject: str
    body: str  # plain text; line breaks are meaningful
    markdown: str | None = None  # for robots that render markdown; body is the fallback
    mentions: tuple[str, ...] = ()  # mainland mobiles to @mention (robots)
    attachments: tuple[Attachment, ...] = ()
    dedupe_key: str | None = None  # passed through to receivers that can deduplicate


@dataclass(frozen=True)
class Target:
    """Where one message goes on one channel.

    ``address`` is an email address, or a secret reference (``secret:name`` / ``env:NAME``)
    for robots and webhooks; the secret itself is resolved only inside ``send``.
    """

    channel: ChannelName
    address: str

    def __repr__(self) -> str:  # never print a resolved secret; references are fine
        return f"Target({self.channel}, {self.address})"


@dataclass
class DeliveryError(Exception):
    """A failed send. ``retryable`` decides between back-off and ``dead``.

    ``detail`` must already be free of secrets (keys, passwords, signed URLs).
    """

    detail: str
    retryable: bool
    code: str | None = None  # e.g. "errcode:45009", "http:500", "timeout"
    retry_after_s: float | None = None

    def __str__(self) -> str:
        return f"{self.code or 'error'}: {self.detail}"


@dataclass(frozen=True)
class Receipt:
    parts: int = 1  # messages actually sent (robots split long texts)
    info: dict[str, str] = field(default_factory=dict)


class Channel(Protocol):
    name: ChannelName

    def send(self, target: Target, message: Message) -> Receipt:
        """Deliver or raise DeliveryError."""
        ...

    def endpoint(self, target: Target) -> str:
        """A stable, secret-free key for rate limiting (e.g. a hash of the robot key)."""
        ...

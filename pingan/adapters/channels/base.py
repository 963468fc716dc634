"""The channel port: what the outbox dispatcher needs from any way of delivering a message.

Implementations: email (apprise mailto), WeCom and DingTalk group robots (httpx, errcode
aware), a generic JSON webhook, a JSONL file (demo) and a recording fake (tests). None of
them may put a secret into an exception text, a log line or a repr.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Protocol

ChannelName = Literal[
    "email", "wecom", "dingtalk", "webhook", "file", "sms", "wecom-app", "dingtalk-work"
]
# Channels that reach one person (their phone, their own app account, their own mailbox):
# the only ones a personal link may ever be sent on. Email is personal only when addressed
# to a person's own address; a unit's shared mailbox is a group address.
PERSONAL_CHANNELS: frozenset[str] = frozenset({"sms", "wecom-app", "dingtalk-work", "email"})
# Channels that post into a group that many people read: never a personal link.
GROUP_CHANNELS: frozenset[str] = frozenset({"wecom", "dingtalk", "webhook"})


@dataclass(frozen=True)
class Attachment:
    filename: str  # as the user named it (may be Chinese); channels that cannot attach ignore it
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
    # What kind of message this is (reminder, escalation, digest, award, bulletin,
    # mail_receipt, signoff, ...): channels with fixed templates (SMS) choose by it.
    kind: str | None = None
    # Named plain-text facts (unit, item, due date, ...) for vendor templates; unescaped.
    params: tuple[tuple[str, str], ...] = ()
    # The recipient's personal link and its button text ("立即报送"); set only when the
    # delivery goes to one person on a personal channel, never for a group.
    action_url: str | None = None
    action_label: str | None = None
    html: str | None = None  # an escaped HTML alternative (email); body is the fallback


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
    """A way to deliver. A channel may also say which markups besides the plain body it
    renders, as ``markups`` (e.g. ``("markdown",)``); the outbox then builds only those,
    and builds both markdown and html for a channel that does not say."""

    name: ChannelName

    def send(self, target: Target, message: Message) -> Receipt:
        """Deliver or raise DeliveryError."""
        ...

    def endpoint(self, target: Target) -> str:
        """A stable, secret-free key for rate limiting (e.g. a hash of the robot key)."""
        ...

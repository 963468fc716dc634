"""A recording channel for unit tests: a fake, not a mock: it behaves like a channel."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from typing import Literal

from pingan.adapters.channels.base import ChannelName, DeliveryError, Message, Receipt, Target


@dataclass
class RecordingChannel:
    """Records every send; can fail the first ``fail`` sends, or ``"always"``.

    Failing sends raise ``error`` (by default a retryable ``code="fake"`` error) and are
    recorded in ``attempts`` but not in ``sent``.
    """

    name: ChannelName = "file"
    fail: int | Literal["always"] = 0
    error: DeliveryError = field(
        default_factory=lambda: DeliveryError("模拟发送失败", retryable=True, code="fake")
    )
    parts_per_message: int = 1
    sent: list[tuple[Target, Message]] = field(default_factory=list)
    attempts: list[tuple[Target, Message]] = field(default_factory=list)

    def send(self, target: Target, message: Message) -> Receipt:
        self.attempts.append((target, message))
        if self.fail == "always" or len(self.attempts) <= self.fail:
            # A fresh copy each time, so tracebacks do not pile up on one shared instance.
            raise replace(self.error)
        self.sent.append((target, message))
        return Receipt(parts=self.parts_per_message)

    def parts(self, target: Target, message: Message) -> int:
        return self.parts_per_message

    def endpoint(self, target: Target) -> str:
        digest = hashlib.sha256(target.address.encode("utf-8")).hexdigest()[:16]
        return f"{self.name}:{digest}"

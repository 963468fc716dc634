"""Rate limits a channel keeps per endpoint (one recipient, or one robot), shared by every
worker through the endpoint_slot sliding windows (pingan/adapters/outbox/quota.py).

A channel may have several (SMS: a minute, an hour and a day per mobile); a send needs a slot
in each, shortest window first, so a refusal wastes at most short-window slots.
"""

from __future__ import annotations

from dataclasses import dataclass

_UNITS = {60: "分钟", 3600: "小时", 86400: "天"}


@dataclass(frozen=True)
class RateLimit:
    limit: int
    window_s: int = 60

    def slot_key(self, endpoint: str) -> str:
        """The endpoint_slot key of this window (the minute window keeps the bare endpoint,
        as the robots' 20-a-minute always has)."""
        return endpoint if self.window_s == 60 else f"{endpoint}/{self.window_s}s"

    def zh(self) -> str:
        unit = _UNITS.get(self.window_s, f"{self.window_s} 秒")
        return f"每{unit} {self.limit} 条"


def per_window(
    minute: int | None = None, hour: int | None = None, day: int | None = None
) -> tuple[RateLimit, ...]:
    pairs = ((minute, 60), (hour, 3600), (day, 86400))
    return tuple(RateLimit(n, w) for n, w in pairs if n is not None)


def describe(limits: tuple[RateLimit, ...]) -> str:
    return "，".join(limit.zh() for limit in limits) or "不限"

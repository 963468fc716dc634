"""What a delivery becomes after a send: the dispatcher's policy and its one verdict.

The outbox (pingan.adapters.outbox) sends and writes; this module decides, from what
happened to one claimed delivery, whether it is sent, retried later with back-off, given up
(dead), cancelled, or put back until a rate-limit window reopens.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Literal

from pingan.core.quiet import QuietPolicy

MAX_BACKOFF_S = 6 * 3600
# A receiver's own wait (Retry-After, errcode windows) is never shortened, only lengthened
# by up to this share of the policy's jitter.
RECEIVER_JITTER = 0.2
# Robots accept 20 messages a minute per key.
DEFAULT_RATES: Mapping[str, int] = MappingProxyType({"wecom": 20, "dingtalk": 20})


@dataclass(frozen=True)
class DispatchPolicy:
    """How one dispatcher run sends.

    ``rate_per_minute`` caps sends per endpoint per minute across all workers, by channel;
    ``quiet`` (None: send at any time) holds everything back in quiet hours. Back-off
    doubles per attempt; ``jitter`` of it is drawn at random so that failures together do
    not retry together. ``lease_s``
    must exceed a batch's sending time by a margin. ``wait_up_to_s`` keeps the run alive
    for rows that become due within that many seconds; ``max_batches`` (None: no limit)
    ends it early. ``owner`` names the leases (None: this host and process).
    """

    max_attempts: int = 6
    base_backoff_s: float = 60
    max_backoff_s: float = MAX_BACKOFF_S
    jitter: float = 0.5  # share of a back-off drawn at random, so failures do not retry in step
    rate_per_minute: Mapping[str, int] = field(default_factory=lambda: DEFAULT_RATES)
    quiet: QuietPolicy | None = None
    batch: int = 50
    lease_s: float = 300
    owner: str | None = None
    wait_up_to_s: float = 0
    max_batches: int | None = None

    def exhausted(self, attempts: int) -> bool:
        """No try is left for a delivery with this many attempts behind it."""
        return attempts >= self.max_attempts

    def backoff_s(self, attempts: int, draw: float = 0.0) -> float:
        """Wait before the next try after ``attempts`` failed ones: doubling, capped, less
        up to its ``jitter`` share as ``draw`` (uniform in [0, 1), from the caller) says."""
        full = float(min(self.base_backoff_s * 2 ** max(attempts - 1, 0), self.max_backoff_s))
        return full * (1 - self.jitter * min(max(draw, 0.0), 1.0))


# --- outcomes ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sent:
    parts: int  # messages actually posted (robots split long texts)


@dataclass(frozen=True)
class SendFailed:
    """A send was tried and failed; it counts as an attempt."""

    error: str
    retryable: bool
    retry_after_s: float | None = None  # the receiver's own wait, overriding the back-off


@dataclass(frozen=True)
class Unsendable:
    """Nothing can be sent (no channel, no message, no address …); nothing was tried."""

    error: str


@dataclass(frozen=True)
class NoLongerDue:
    """The obligation behind the message was done or waived before it went out."""

    reason: str


@dataclass(frozen=True)
class RateLimited:
    """The endpoint's window is used up: wait, do not fail."""

    until: datetime


Outcome = Sent | SendFailed | Unsendable | NoLongerDue | RateLimited
DeliveryState = Literal["sent", "failed", "dead", "cancelled", "queued"]


# --- verdict ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Verdict:
    """The delivery row after the outcome: its state and the fields that change with it."""

    state: DeliveryState
    attempts: int
    error: str | None = None
    next_attempt_at: datetime | None = None  # failed: the retry; queued: the window reopening
    sent_at: datetime | None = None
    parts: int | None = None


def verdict(
    outcome: Outcome, attempts: int, policy: DispatchPolicy, now: datetime, draw: float = 0.0
) -> Verdict:
    """What a delivery with ``attempts`` tries behind it becomes after ``outcome`` at ``now``
    (``draw``: a uniform random number in [0, 1) from the caller, for the back-off's jitter;
    a receiver's own wait is kept, lengthened by a fifth of the jitter share at most)."""
    if isinstance(outcome, Sent):
        return Verdict("sent", attempts, sent_at=now, parts=outcome.parts)
    if isinstance(outcome, Unsendable):
        return Verdict("dead", attempts, outcome.error)
    if isinstance(outcome, NoLongerDue):
        return Verdict("cancelled", attempts, outcome.reason)
    if isinstance(outcome, RateLimited):
        return Verdict("queued", attempts, next_attempt_at=outcome.until)
    tried = attempts + 1
    if not outcome.retryable or policy.exhausted(tried):
        return Verdict("dead", tried, outcome.error)
    if outcome.retry_after_s is not None:
        wait = max(outcome.retry_after_s, 0.0)
        extra = policy.jitter * RECEIVER_JITTER * min(max(draw, 0.0), 1.0)
        delay = min(wait * (1 + extra), policy.max_backoff_s)
    else:
        delay = policy.backoff_s(tried, draw)
    return Verdict("failed", tried, outcome.error, next_attempt_at=now + timedelta(seconds=delay))

"""Token buckets keyed by link or by client address. Pure: the clock is passed in.

The buckets live in the memory of one portal process: several processes (or several
machines behind a proxy) each allow the full rate. That is enough to stop a script from
hammering one link or guessing tokens from one address; a shared limit would belong in the
reverse proxy.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass


@dataclass(frozen=True)
class Rate:
    """per_minute requests on average, in bursts of up to burst; per_minute 0 = no limit."""

    per_minute: float
    burst: int

    @property
    def unlimited(self) -> bool:
        return self.per_minute <= 0


@dataclass
class _Bucket:
    tokens: float
    updated: float
    # Refusals since the last one that was audited: a flood is audited once a minute, with
    # its count, rather than one row per refused request.
    refused_unaudited: int = 0
    last_audited: float | None = None


@dataclass(frozen=True)
class Decision:
    allowed: bool
    retry_after_s: int = 0
    # For a refusal: whether to audit it now, and how many earlier ones it stands for.
    audit: bool = False
    refused_since_audit: int = 0


class RateLimiter:
    """Thread-safe; keeps at most max_keys buckets, dropping the least recently used (a
    dropped bucket comes back full, which is where an idle one would be anyway)."""

    AUDIT_EVERY_S = 60.0

    def __init__(self, rate: Rate, *, max_keys: int = 100_000) -> None:
        self.rate = rate
        self.max_keys = max_keys
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()
        self._lock = threading.Lock()

    def hit(self, key: str, now: float) -> Decision:
        """Take one token for key at monotonic time now (seconds)."""
        if self.rate.unlimited:
            return Decision(True)
        per_s = self.rate.per_minute / 60
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None:
                bucket = _Bucket(float(self.rate.burst), now)
                self._buckets[key] = bucket
                if len(self._buckets) > self.max_keys:
                    self._buckets.popitem(last=False)
            else:
                self._buckets.move_to_end(key)
                elapsed = max(0.0, now - bucket.updated)
                bucket.tokens = min(float(self.rate.burst), bucket.tokens + elapsed * per_s)
                bucket.updated = now
            if bucket.tokens >= 1:
                bucket.tokens -= 1
                return Decision(True)
            retry = max(1, int((1 - bucket.tokens) / per_s + 0.999))
            bucket.refused_unaudited += 1
            due = bucket.last_audited is None or now - bucket.last_audited >= self.AUDIT_EVERY_S
            if not due:
                return Decision(False, retry)
            count, bucket.refused_unaudited = bucket.refused_unaudited, 0
            bucket.last_audited = now
            return Decision(False, retry, audit=True, refused_since_audit=count)

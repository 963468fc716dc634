"""An app's access token (WeCom ``gettoken``, DingTalk ``gettoken``), cached until it expires.

Both vendors hand out a token valid ``expires_in`` seconds (7200) and ask callers to cache it:
fetching one per message would hit the gettoken quota. The cache refreshes a margin before
expiry, and ``invalidate`` drops a token the vendor has refused (40014 invalid, 42001
expired, ...), so the next ``get`` fetches afresh. Thread-safe: one fetch at a time.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Final

# Refresh this long before the vendor's expiry, so a token never dies in flight.
MARGIN_S: Final = 300.0


class TokenCache:
    def __init__(
        self,
        fetch: Callable[[], tuple[str, float]],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """``fetch`` returns (token, expires_in seconds) or raises DeliveryError."""
        self._fetch = fetch
        self._clock = clock
        self._lock = threading.Lock()
        self._token: str | None = None
        self._until = 0.0
        self.fetches = 0  # how many times a token was fetched (tests, bench)

    def get(self) -> str:
        with self._lock:
            if self._token is None or self._clock() >= self._until:
                token, expires_in = self._fetch()
                self.fetches += 1
                self._token = token
                self._until = self._clock() + max(expires_in - MARGIN_S, expires_in / 2)
            return self._token

    def invalidate(self, token: str) -> None:
        """Forget ``token`` (only if it is still the cached one: another thread may already
        have replaced it)."""
        with self._lock:
            if self._token == token:
                self._token = None

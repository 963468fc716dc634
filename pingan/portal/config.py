"""What the portal needs to run, read once from the settings: the signing secret, where
files go, the upload limit and quota, the rate limits, the proxies it trusts and the clocks."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pingan.adapters.intake.store import QUARANTINE_KEEP_BYTES
from pingan.core.links import secret_of
from pingan.portal.headers import TrustedProxies
from pingan.portal.quota import Quota
from pingan.portal.ratelimit import Rate
from pingan.root.settings import Settings

# A phone network puts many people behind one address (carrier NAT), so the per-address
# limit is generous; the per-link limit is what stops a script.
DEFAULT_TOKEN_RATE = Rate(per_minute=30, burst=20)
DEFAULT_ADDRESS_RATE = Rate(per_minute=600, burst=200)
# The public verification page: anyone may ask, so per address, and tighter than a link's.
DEFAULT_VERIFY_RATE = Rate(per_minute=20, burst=10)
DEFAULT_MAX_UPLOADS = 8
DEFAULT_QUOTA = Quota()
NO_PROXIES = TrustedProxies()


class PortalNotConfigured(Exception):
    """The one-line Chinese reason why the portal cannot start."""


def checked_secret(secret: str | None) -> str:
    """The signing secret, or PortalNotConfigured saying (in one line) what is wrong. Its
    length is checked once, where the settings are validated (pingan.root.settings)."""
    if secret is None:
        raise PortalNotConfigured("未设置 PINGAN_PORTAL_SECRET（个人链接的签名密钥），门户未启动")
    return secret


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class PortalConfig:
    """clock gives the wall time (tokens, receipts, late marking); monotonic drives the
    rate limits. Both are here so tests can replay a campaign day."""

    secret: str
    evidence_dir: Path
    quarantine_dir: Path
    spool_dir: Path
    max_file_bytes: int
    quarantine_keep_bytes: int = QUARANTINE_KEEP_BYTES
    token_rate: Rate = DEFAULT_TOKEN_RATE
    address_rate: Rate = DEFAULT_ADDRESS_RATE
    trusted_proxies: TrustedProxies = NO_PROXIES
    quota: Quota = DEFAULT_QUOTA
    # Uploads taken at once, and how many more may wait (unread, for up to upload_wait_s)
    # for a turn; the rest are told to retry (503), so the worker threads, the pages and
    # the health check never wait behind a burst (pingan.portal.gate).
    max_uploads: int = DEFAULT_MAX_UPLOADS
    max_waiting_uploads: int = 256
    upload_wait_s: float = 30.0
    upload_idle_s: float = 30.0  # longest pause between two pieces of an upload's body
    verify_rate: Rate = DEFAULT_VERIFY_RATE
    # The portal's public address (verification links on certificates rendered here), and
    # the output folder the leader's view downloads reports from (pingan.portal.leader).
    public_base_url: str | None = None
    output_root: Path | None = None
    font_path: Path | None = None
    clock: Callable[[], datetime] = _utc_now
    monotonic: Callable[[], float] = time.monotonic

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: Any) -> PortalConfig:
        """The portal configured from PINGAN_* settings; PortalNotConfigured without a
        usable secret."""
        options: dict[str, Any] = {
            "evidence_dir": settings.resolved_evidence_dir(),
            "quarantine_dir": settings.resolved_quarantine_dir(),
            "spool_dir": settings.home / "portal-spool",
            "max_file_bytes": settings.max_file_bytes,
            "quarantine_keep_bytes": settings.quarantine_keep_bytes,
            "trusted_proxies": TrustedProxies.parse(settings.trusted_proxy_list()),
            "quota": Quota(
                settings.portal_quota_stored_bytes, settings.portal_quota_quarantined_bytes
            ),
            "max_uploads": settings.portal_max_uploads,
            "public_base_url": settings.portal_base_url,
            "output_root": settings.resolved_output_dir(),
            "font_path": settings.font_path,
            **overrides,
        }
        return cls(secret=checked_secret(secret_of(settings)), **options)

    def now(self) -> datetime:
        """The wall time, aware and in UTC."""
        moment = self.clock()
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)

"""What every step of one dispatcher run shares."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy import Connection, Engine

from pingan.adapters.channels.base import Channel
from pingan.adapters.outbox.report import DispatchReport
from pingan.core.campaign import Campaign
from pingan.core.delivery import DispatchPolicy
from pingan.core.links import PortalSettings


@dataclass(frozen=True)
class DispatchRun:
    """One run: its autocommit connection (marks, claims, slots), the engine (rendering
    opens its own session), the campaign, the channels by name and the policy; ``report``
    and ``endpoints`` fill up as it goes."""

    conn: Connection
    engine: Engine
    campaign: Campaign
    campaign_id: int
    channels: Mapping[str, Channel]
    policy: DispatchPolicy
    owner: str
    now_fn: Callable[[], datetime]
    templates_dir: Path | None
    portal: PortalSettings | None  # personal links in the texts; None: no links
    report: DispatchReport
    # Rate-limit keys by (channel, address): Channel.endpoint may hash a resolved secret.
    endpoints: dict[tuple[str, str], str] = field(default_factory=dict)

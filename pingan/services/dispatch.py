"""Delivery as a use case: the channels (built by the composition root) and the campaign's
notification settings as a dispatch policy → pingan.adapters.outbox.dispatch."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from sqlalchemy import Engine, select

from pingan.adapters.channels.base import Channel, ChannelName
from pingan.adapters.channels.registry import release
from pingan.adapters.db.base import utcnow
from pingan.adapters.db.campaigns import WorkdayRow
from pingan.adapters.outbox import DispatchReport, dispatch
from pingan.core.campaign.channels import ChannelsConfig
from pingan.core.delivery import DispatchPolicy
from pingan.core.links import PortalSettings
from pingan.core.progress import Progress, nothing
from pingan.core.quiet import QuietPolicy
from pingan.services.tick import CampaignHandle


def working_day_lookup(engine: Engine, campaign_id: int) -> Callable[[date], bool]:
    """The campaign's own calendar from the database (workers need no YAML or library)."""
    with engine.connect() as conn:
        days = dict(
            conn.execute(
                select(WorkdayRow.day, WorkdayRow.working).where(
                    WorkdayRow.campaign_id == campaign_id
                )
            ).all()
        )

    def is_working(d: date) -> bool:
        # Past the table (the year after the campaign) fall back to Monday–Friday.
        return bool(days[d]) if d in days else d.weekday() < 5

    return is_working


# Builds a campaign's personal channels (SMS, WeCom app, DingTalk work) from its config.
PersonalChannels = Callable[[ChannelsConfig], Mapping[ChannelName, Channel]]


@dataclass(frozen=True)
class Delivery:
    """The channels built by the composition root, and the one every message is forced onto
    (the demo's ``file`` sink) when set. ``personal`` builds the campaign's own channels
    for each run (its YAML configures the vendor accounts)."""

    channels: Mapping[ChannelName, Channel]
    override: ChannelName | None = None
    personal: PersonalChannels | None = None

    def for_campaign(self, config: ChannelsConfig) -> dict[str, Channel]:
        by_name: dict[str, Channel] = {str(k): v for k, v in self.channels.items()}
        if self.personal is not None and self.override is None:
            by_name |= {str(k): v for k, v in self.personal(config).items()}
        return by_name


def quiet_policy(engine: Engine, handle: CampaignHandle) -> QuietPolicy | None:
    n = handle.campaign.notifications
    if n.quiet_hours is None and not n.working_days_only:
        return None
    return QuietPolicy.of(
        n.quiet_hours,
        working_days_only=n.working_days_only,
        tz=handle.campaign.timezone,
        is_working_day=working_day_lookup(engine, handle.campaign_id),
    )


def dispatch_policy(
    engine: Engine,
    handle: CampaignHandle,
    *,
    respect_quiet_hours: bool = True,
    wait_up_to_s: float = 0,
) -> DispatchPolicy:
    """The campaign's notification settings as the dispatcher's policy."""
    n = handle.campaign.notifications
    return DispatchPolicy(
        max_attempts=n.max_attempts,
        base_backoff_s=n.base_backoff_s,
        rate_per_minute={"wecom": n.robot_rate_per_minute, "dingtalk": n.robot_rate_per_minute},
        quiet=quiet_policy(engine, handle) if respect_quiet_hours else None,
        wait_up_to_s=wait_up_to_s,
    )


def run_dispatch(
    engine: Engine,
    handle: CampaignHandle,
    delivery: Delivery,
    portal: PortalSettings,
    *,
    now_fn: Callable[[], datetime] | None = None,
    respect_quiet_hours: bool = True,
    wait_up_to_s: float = 0,
    progress: Progress = nothing,
) -> DispatchReport:
    """Deliver the campaign's due messages on ``delivery``'s channels; personal links in
    them are signed with ``portal``'s settings."""
    policy = dispatch_policy(
        engine, handle, respect_quiet_hours=respect_quiet_hours, wait_up_to_s=wait_up_to_s
    )
    templates = handle.campaign.templates_dir
    by_name = delivery.for_campaign(handle.campaign.channels)
    try:
        return dispatch(
            engine,
            handle.campaign,
            handle.campaign_id,
            by_name,
            policy,
            channel_override=delivery.override,
            templates_dir=Path(templates) if templates else None,
            portal=portal,
            now_fn=now_fn or utcnow,
            progress=progress,
        )
    finally:
        release(by_name.values())  # one SMTP connection served the run; close it

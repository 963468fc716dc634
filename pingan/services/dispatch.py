"""Composition for delivery: settings and campaign → secret resolvers, channels, quiet policy
→ pingan.adapters.outbox.dispatch. The one place that decides which implementations are used."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select

from pingan.adapters.channels.base import Channel, ChannelName, SecretResolver
from pingan.adapters.channels.registry import build_channels, file_channels
from pingan.adapters.db.campaigns import WorkdayRow
from pingan.adapters.db.session import engine_for
from pingan.adapters.outbox import DispatchReport, QuietPolicy, dispatch
from pingan.adapters.secrets import ChainResolver, EnvSecretResolver, quiet_apprise_logger
from pingan.services.tick import CampaignHandle
from pingan.settings import Settings, get_settings


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


def channels_for(
    settings: Settings, resolvers: Sequence[SecretResolver] = ()
) -> tuple[dict[ChannelName, Channel], ChannelName | None]:
    quiet_apprise_logger()
    resolver = ChainResolver(EnvSecretResolver(), *resolvers)
    if settings.channel_override == "file":
        sinks = file_channels(settings.resolved_outbox_file())
        if settings.smtp_ref and settings.mirror_mail_to:
            # Demo with --smtp: every message is also mailed to one local mailbox.
            from pingan.adapters.channels.email import EmailChannel
            from pingan.adapters.channels.mirror import MirrorChannel

            mail = EmailChannel(resolver, settings.smtp_ref)
            sink = MirrorChannel(sinks["file"], mail, settings.mirror_mail_to)
            sinks = dict.fromkeys(sinks, sink)
        return sinks, "file"
    channels = build_channels(
        resolver,
        smtp_ref=settings.smtp_ref,
        wecom_base_url=settings.wecom_base_url,
        dingtalk_base_url=settings.dingtalk_base_url,
    )
    return channels, None


def quiet_policy(engine: Engine, handle: CampaignHandle) -> QuietPolicy | None:
    n = handle.campaign.notifications
    if n.quiet_hours is None and not n.working_days_only:
        return None
    return QuietPolicy.parse(
        n.quiet_hours,
        working_days_only=n.working_days_only,
        tz=handle.campaign.timezone,
        is_working_day=working_day_lookup(engine, handle.campaign_id),
    )


def run_dispatch(
    handle: CampaignHandle,
    *,
    engine: Engine | None = None,
    resolvers: Sequence[SecretResolver] = (),
    now_fn: Callable[[], datetime] | None = None,
    respect_quiet_hours: bool = True,
    wait_up_to_s: float = 0,
    **overrides: Any,
) -> DispatchReport:
    settings = get_settings()
    engine = engine or engine_for(settings.resolved_database_url())
    channels, override = channels_for(settings, resolvers)
    n = handle.campaign.notifications
    kwargs: dict[str, Any] = {
        "max_attempts": n.max_attempts,
        "base_backoff_s": n.base_backoff_s,
        "rate_per_minute": {
            "wecom": n.robot_rate_per_minute,
            "dingtalk": n.robot_rate_per_minute,
        },
        "quiet": quiet_policy(engine, handle) if respect_quiet_hours else None,
        "channel_override": override,
        "wait_up_to_s": wait_up_to_s,
        "templates_dir": Path(handle.campaign.templates_dir)
        if handle.campaign.templates_dir
        else None,
    }
    if now_fn is not None:
        kwargs["now_fn"] = now_fn
    kwargs.update(overrides)
    by_name: dict[str, Channel] = {str(k): v for k, v in channels.items()}
    return dispatch(engine, handle.campaign, handle.campaign_id, by_name, **kwargs)

"""The composition root for channels: one instance per channel name, chosen by config.

The dispatcher looks a target's channel up by ``target.channel``. Besides the port's
``send``/``endpoint``, every channel here has ``parts(target, message)`` — how many
messages a send will post (robots split long texts) — so a rate limiter can charge the
20-a-minute robot budget before sending, and ``Receipt.parts`` afterwards. The personal
channels (SMS, WeCom app, DingTalk work notices) also have ``limits()``: their vendors'
per-recipient limits, kept by the dispatcher in shared sliding windows.

Robots, the webhook and email are the deployment's (settings); the personal channels are the
campaign's (``channels:`` in its YAML), built per dispatch run by ``personal_channels``.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import httpx

from pingan.adapters.channels.base import Channel, ChannelName
from pingan.adapters.channels.dingtalk import DINGTALK_BASE_URL, DingTalkRobot
from pingan.adapters.channels.dingtalk_work import DingTalkWork
from pingan.adapters.channels.email import EmailChannel
from pingan.adapters.channels.file import FileChannel
from pingan.adapters.channels.sms import SmsChannel
from pingan.adapters.channels.smtp_settings import SmtpSettings
from pingan.adapters.channels.webhook import JsonWebhook
from pingan.adapters.channels.wecom import WECOM_BASE_URL, WeComRobot
from pingan.adapters.channels.wecom_app import WeComApp
from pingan.adapters.secrets import SecretResolver, quiet_apprise_logger, quiet_http_loggers
from pingan.core.campaign.channels import ChannelsConfig

ALL_CHANNELS: tuple[ChannelName, ...] = (
    "sms",
    "wecom-app",
    "dingtalk-work",
    "email",
    "wecom",
    "dingtalk",
    "webhook",
    "file",
)


def build_channels(
    resolver: SecretResolver,
    *,
    smtp_ref: str | None = None,
    smtp: SmtpSettings | None = None,
    wecom_base_url: str = WECOM_BASE_URL,
    dingtalk_base_url: str = DINGTALK_BASE_URL,
    file_path: Path | None = None,
    client: httpx.Client | None = None,
    timeout: float = 10,
) -> dict[ChannelName, Channel]:
    """The deployment's channels. ``email`` with typed ``smtp`` settings (or an old
    ``smtp_ref``; the typed settings win), ``file`` only with a ``file_path``.

    ``client`` is shared by the HTTP channels when given (the caller closes it); otherwise
    each makes its own.
    """
    quiet_apprise_logger()
    quiet_http_loggers()
    channels: dict[ChannelName, Channel] = {
        "wecom": WeComRobot(resolver, wecom_base_url, client=client, timeout=timeout),
        "dingtalk": DingTalkRobot(resolver, dingtalk_base_url, client=client, timeout=timeout),
        "webhook": JsonWebhook(resolver, client=client, timeout=timeout),
    }
    mail = smtp if smtp is not None else smtp_ref
    if mail is not None:
        channels["email"] = EmailChannel(resolver, mail, timeout=max(timeout, 30))
    if file_path is not None:
        channels["file"] = FileChannel(file_path)
    return channels


def personal_channels(
    resolver: SecretResolver,
    config: ChannelsConfig,
    *,
    client: httpx.Client | None = None,
    timeout: float = 10,
) -> dict[ChannelName, Channel]:
    """The campaign's personal channels, those its ``channels:`` section configures."""
    quiet_http_loggers()
    out: dict[ChannelName, Channel] = {}
    if config.sms is not None:
        out["sms"] = SmsChannel(resolver, config.sms, timeout=timeout)
    if config.wecom_app is not None:
        out["wecom-app"] = WeComApp(resolver, config.wecom_app, client=client, timeout=timeout)
    if config.dingtalk_work is not None:
        out["dingtalk-work"] = DingTalkWork(
            resolver, config.dingtalk_work, client=client, timeout=timeout
        )
    return out


def release(channels: Iterable[Channel]) -> None:
    """End of a dispatch run: close what the channels keep open (SMTP connections, HTTP
    pools). Each channel stays usable; its next send opens afresh."""
    seen: set[int] = set()
    for channel in channels:
        closer = getattr(channel, "release", None)
        if callable(closer) and id(channel) not in seen:
            seen.add(id(channel))
            closer()


def file_channels(path: Path) -> dict[ChannelName, Channel]:
    """Every channel name mapped to one JSONL file: the demo's "send" (nothing leaves)."""
    sink = FileChannel(path)
    return dict.fromkeys(ALL_CHANNELS, sink)

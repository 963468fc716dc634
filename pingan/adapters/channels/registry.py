"""The composition root for channels: one instance per channel name, chosen by config.

The dispatcher looks a target's channel up by ``target.channel``. Besides the port's
``send``/``endpoint``, every channel here has ``parts(target, message)`` — how many
messages a send will post (robots split long texts) — so a rate limiter can charge the
20-a-minute robot budget before sending, and ``Receipt.parts`` afterwards.
"""

from __future__ import annotations

from pathlib import Path

import httpx

from pingan.adapters.channels.base import Channel, ChannelName
from pingan.adapters.channels.dingtalk import DINGTALK_BASE_URL, DingTalkRobot
from pingan.adapters.channels.email import EmailChannel
from pingan.adapters.channels.file import FileChannel
from pingan.adapters.channels.webhook import JsonWebhook
from pingan.adapters.channels.wecom import WECOM_BASE_URL, WeComRobot
from pingan.adapters.secrets import SecretResolver, quiet_apprise_logger, quiet_http_loggers

ALL_CHANNELS: tuple[ChannelName, ...] = ("email", "wecom", "dingtalk", "webhook", "file")


def build_channels(
    resolver: SecretResolver,
    *,
    smtp_ref: str | None = None,
    wecom_base_url: str = WECOM_BASE_URL,
    dingtalk_base_url: str = DINGTALK_BASE_URL,
    file_path: Path | None = None,
    client: httpx.Client | None = None,
    timeout: float = 10,
) -> dict[ChannelName, Channel]:
    """Real channels. ``email`` only with an ``smtp_ref``, ``file`` only with a ``file_path``.

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
    if smtp_ref is not None:
        channels["email"] = EmailChannel(resolver, smtp_ref, timeout=max(timeout, 30))
    if file_path is not None:
        channels["file"] = FileChannel(file_path)
    return channels


def file_channels(path: Path) -> dict[ChannelName, Channel]:
    """Every channel name mapped to one JSONL file: the demo's "send" (nothing leaves)."""
    sink = FileChannel(path)
    return dict.fromkeys(ALL_CHANNELS, sink)

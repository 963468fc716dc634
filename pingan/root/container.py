"""The one container of a process: settings, engine, clock, and what delivery, intake,
awards and reports need built from them (channels, secret resolvers, stores, folders, keys).
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine, inspect, select

from pingan.adapters.channels.base import Channel, ChannelName
from pingan.adapters.db.base import utcnow
from pingan.adapters.db.session import engine_for
from pingan.adapters.private import keep_state_private
from pingan.adapters.secrets import (
    ChainResolver,
    EnvSecretResolver,
    SecretResolver,
    quiet_apprise_logger,
    stored_key,
)
from pingan.core.campaign import artifact_slug
from pingan.core.problems import InputError, Problem
from pingan.root.settings import ChannelOverride, Settings, load_settings
from pingan.services.collect import IntakeStores
from pingan.services.dispatch import Delivery

AWARD_KEY_LOST = (
    "命名验证码密钥文件不见了，而数据库中已有命名记录：为免新旧证书出自不同密钥，已拒绝自动新建。"
    "请从备份恢复该文件（或把 PINGAN_AWARD_SECRET 设为原密钥）后重试"
)
AWARD_KEY_DAMAGED = "命名验证码密钥文件内容无效（应为 64 位十六进制字符）：请从备份恢复该文件后重试"
NEW_AWARD_KEY = (
    "注意：未找到命名验证码密钥，已新建 {path}。请立即备份此文件（或改用 PINGAN_AWARD_SECRET）："
    "它一旦丢失，本数据库就不能再命名"
)
_KEY_SHAPE = re.compile(r"[0-9a-f]{64}")


def _log_warning(message: str) -> None:
    logging.getLogger("pingan.awards").warning(message)


def _awards_exist(engine: Engine) -> bool:
    """Whether the database holds any award; an unreachable database raises (never "no")."""
    from pingan.adapters.db.assessments import AwardRow

    if not inspect(engine).has_table(AwardRow.__tablename__):
        return False
    with engine.connect() as conn:
        return conn.execute(select(AwardRow.id).limit(1)).first() is not None


@dataclass
class Container:
    """Everything is built from ``settings``; ``environ`` is where ``env:`` and ``secret:``
    references are looked up (None: the process environment, read at send time); ``clock``
    is the naive-UTC now that delivery runs on (tests replay a day by passing their own)."""

    settings: Settings
    clock: Callable[[], datetime] = utcnow
    environ: Mapping[str, str] | None = None
    _engine: Engine | None = field(default=None, repr=False)

    @property
    def engine(self) -> Engine:
        """One engine (and pool) per database URL per process."""
        if self._engine is None:
            self._engine = engine_for(self.settings.resolved_database_url())
        return self._engine

    def secret_resolver(self, *extra: SecretResolver) -> SecretResolver:
        """The environment first, then ``extra`` (a worker adds Prefect Secret blocks)."""
        return ChainResolver(EnvSecretResolver(self.environ), *extra)

    def delivery(self, *extra: SecretResolver) -> Delivery:
        """The channels messages go out on: the real ones, or the demo's file sink."""
        from pingan.adapters.channels.registry import (
            build_channels,
            file_channels,
            personal_channels,
        )

        quiet_apprise_logger()
        s = self.settings
        resolver = self.secret_resolver(*extra)
        if s.channel_override is ChannelOverride.FILE:
            sinks = file_channels(s.resolved_outbox_file())
            if s.smtp_ref and s.mirror_mail_to:
                sinks = _mirrored(sinks, resolver, s.smtp_ref, s.mirror_mail_to)
            return Delivery(sinks, "file")
        channels = build_channels(
            resolver,
            smtp_ref=s.smtp_ref,
            smtp=s.smtp_settings(),
            wecom_base_url=s.wecom_base_url,
            dingtalk_base_url=s.dingtalk_base_url,
        )
        return Delivery(channels, None, lambda config: personal_channels(resolver, config))

    def intake_stores(self) -> IntakeStores:
        s = self.settings
        return IntakeStores(
            s.resolved_evidence_dir(),
            s.resolved_quarantine_dir(),
            s.max_file_bytes,
            s.quarantine_keep_bytes,
        )

    def output_dir(self, campaign_code: str) -> Path:
        """Certificates and public lists of a campaign."""
        return self.settings.resolved_output_dir() / campaign_code

    def reports_dir(self, campaign_code: str) -> Path:
        return self.settings.resolved_output_dir() / artifact_slug(campaign_code) / "reports"

    def award_key(
        self, engine: Engine | None = None, warn: Callable[[str], None] = _log_warning
    ) -> bytes:
        """PINGAN_AWARD_SECRET, else a random key kept beside the database (created once).

        Codes are stored with each award when granted, so checking a certificate needs only
        the database; the key matters for making codes nobody can compute without it. A key
        file that is gone while ``engine``'s database (default: the container's) holds awards
        is never silently replaced: InputError. Creating one is announced through ``warn``."""
        if self.settings.award_secret is not None:
            return self.settings.award_secret.get_secret_value().encode()
        path = self.settings.home / "award.key"
        if not path.exists():
            if _awards_exist(engine or self.engine):
                raise InputError([Problem(str(path), "", AWARD_KEY_LOST)])
            warn(NEW_AWARD_KEY.format(path=path))
        key = stored_key(path)
        if not _KEY_SHAPE.fullmatch(key.decode("ascii", "replace")):
            raise InputError([Problem(str(path), "", AWARD_KEY_DAMAGED)])
        return key


def _mirrored(
    sinks: dict[ChannelName, Channel], resolver: SecretResolver, smtp_ref: str, to: str
) -> dict[ChannelName, Channel]:
    """The demo with --smtp: every message is also mailed to one local mailbox."""
    from pingan.adapters.channels.email import EmailChannel
    from pingan.adapters.channels.mirror import MirrorChannel

    sink = MirrorChannel(sinks["file"], EmailChannel(resolver, smtp_ref), to)
    return dict.fromkeys(sinks, sink)


def build(
    settings: Settings | None = None,
    *,
    engine: Engine | None = None,
    environ: Mapping[str, str] | None = None,
    clock: Callable[[], datetime] = utcnow,
) -> Container:
    keep_state_private()  # every process that builds a container creates private state
    return Container(settings or load_settings(), clock, environ, engine)


_lock = threading.Lock()
_current: Container | None = None


def container() -> Container:
    """The process's container, built from the environment on first use."""
    global _current
    with _lock:
        if _current is None:
            _current = build()
        return _current


def settings() -> Settings:
    return container().settings


def install(new: Container) -> Container:
    """Make ``new`` the process's container (the demo, tests)."""
    global _current
    with _lock:
        _current = new
    return new


def reset() -> None:
    """Forget the container: the next call builds it again from the environment (tests)."""
    global _current
    with _lock:
        _current = None

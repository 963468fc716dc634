"""Mail intake as a use case: the campaign's mail_intake section and the secret resolver →
an open mailbox → collect_mail (docs/mail.md)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from sqlalchemy import Engine

from pingan.adapters.intake.collect import IntakeRun
from pingan.adapters.intake.mail import (
    CONNECTION_ERRORS,
    Mailbox,
    MailboxConfig,
    MailReport,
    MailRun,
    collect_mail,
)
from pingan.adapters.intake.store import EvidenceStore
from pingan.adapters.secrets import SecretNotFound, SecretResolver
from pingan.core.campaign import MailIntake
from pingan.core.problems import InputError, Problem
from pingan.core.progress import Progress
from pingan.services.collect import IntakeStores, received_at_for
from pingan.services.tick import CampaignHandle

DEFAULT_PORTS = {"imaps": 993, "starttls": 143}


def mail_configured(handle: CampaignHandle) -> bool:
    return handle.campaign.mail_intake is not None


def mailbox_config(section: MailIntake, resolver: SecretResolver) -> MailboxConfig:
    """The section with its password resolved; a missing secret is an InputError naming
    the reference and where it was looked for, never a value."""
    try:
        password = resolver.resolve(section.password)
    except SecretNotFound as exc:
        raise InputError([Problem("mail_intake", "password", str(exc))]) from None
    return MailboxConfig(
        host=section.host,
        port=section.port or DEFAULT_PORTS[section.security],
        security=section.security,
        user=section.user,
        password=password,
        folder=section.folder,
        processed_folder=section.processed_folder,
        ca_file=section.ca_file,
    )


def collect_mailbox(
    engine: Engine,
    handle: CampaignHandle,
    stores: IntakeStores,
    resolver: SecretResolver,
    *,
    as_of: date | None = None,
    progress: Progress | None = None,
) -> MailReport:
    """Read the campaign's mailbox once. as_of replays a day: every mail is stamped 10:00
    that day (the demo, tests); otherwise each mail counts from its arrival."""
    section = handle.campaign.mail_intake
    if section is None:
        raise InputError(
            [
                Problem(
                    "mail_intake", "", "该创建活动未配置邮件报送（活动配置中的 mail_intake 一节）"
                )
            ]
        )
    config = mailbox_config(section, resolver)
    campaign = handle.campaign
    evidence = EvidenceStore(stores.evidence_dir)
    evidence.sweep_temp(older_than_s=3600)
    intake = IntakeRun(
        engine=engine,
        campaign_id=handle.campaign_id,
        tz=campaign.timezone,
        received_at=received_at_for(as_of, campaign.timezone),
        evidence=evidence,
        quarantine=stores.quarantine(),
        max_bytes=stores.max_bytes,
        source="mail",
    )
    run = MailRun(
        intake=intake,
        campaign=campaign,
        batch_size=section.batch_size,
        replay=as_of is not None,
        own_addresses=(section.user,),
        templates_dir=str(Path(campaign.templates_dir)) if campaign.templates_dir else None,
        progress=progress,
    )
    try:
        with Mailbox(config) as mailbox:
            return collect_mail(run, mailbox)
    except CONNECTION_ERRORS as exc:
        raise _connection_lost(config, exc) from None


def _connection_lost(config: MailboxConfig, exc: BaseException) -> InputError:
    where = f"{config.host}:{config.port}"
    message = (
        f"与邮件服务器 {where} 的连接中断（{type(exc).__name__}）；已处理的批次已登记，"
        "其余邮件下次收取时继续处理"
    )
    return InputError([Problem("mail_intake", "", message)])

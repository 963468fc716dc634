"""Mail intake, a batch of mails at a time: fetch → parse (attachments spooled) → decide the
unit and kind → the inbox's own intake (batch.process: checks, size limit, duplicates, late
marking, quarantine, evidence) → mail rows and receipts committed → only then the mails
marked on the server. A crash anywhere re-reads the mail; its files then come back as
duplicates of what was recorded and its rows and receipt are not written twice.
"""

from __future__ import annotations

import dataclasses
import functools
import io
import logging
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Protocol
from zoneinfo import ZoneInfo

from pingan.adapters.db.intake import file_gates
from pingan.adapters.db.mail import WHOLE_MAIL
from pingan.adapters.intake.collect.batch import process
from pingan.adapters.intake.collect.model import IntakeReport, IntakeRun, Item, size_label
from pingan.adapters.intake.mail.imap import Envelope, Fetched
from pingan.adapters.intake.mail.parse import ParsedMail, Spool, parse_header, parse_mail
from pingan.adapters.intake.mail.receipts import Decided, build_receipts, mail_rows
from pingan.adapters.intake.mail.records import (
    Recording,
    known_messages,
    record,
    sender_units,
)
from pingan.adapters.intake.mail.routing import route
from pingan.core.campaign import Campaign
from pingan.core.mail import is_automatic

log = logging.getLogger("pingan.mail")


class MailSource(Protocol):
    def waiting(self) -> list[Envelope]: ...

    def fetch(self, envelopes: Sequence[Envelope], max_message_bytes: int) -> Iterable[Fetched]: ...

    def mark(self, uids: Sequence[int], *, ignored: bool = False) -> None: ...


@dataclass(frozen=True)
class MailRun:
    """One pass over the mailbox. intake is the inbox's run (stores, limits, moment);
    replay stamps every mail with intake.received_at (a replayed day) instead of its
    arrival; own_addresses are the mailbox's own (mail from them is ignored)."""

    intake: IntakeRun
    campaign: Campaign
    batch_size: int
    replay: bool = False
    own_addresses: tuple[str, ...] = ()
    templates_dir: str | None = None
    progress: Callable[[int, int], None] | None = None


@dataclass
class MailReport:
    mails: int = 0
    ignored: int = 0
    refused: int = 0  # whole mails refused (no attachment, too big, too many)
    already: int = 0  # recorded by an earlier run that stopped before marking them
    receipts: int = 0
    files: IntakeReport = field(default_factory=IntakeReport)


# Decoded attachments a batch keeps in memory; beyond this they wait in temp files.
SPOOL_MEMORY = 64 * 1024 * 1024


def max_message_bytes(max_file_bytes: int) -> int:
    """The largest mail read whole: about one attachment at the size limit, base64-encoded
    (a third larger), plus room for the text. Larger mails are refused from their header,
    so no mail is ever held in memory beyond this."""
    return 2 * max_file_bytes + 1024 * 1024


def collect_mail(run: MailRun, source: MailSource) -> MailReport:
    report = MailReport()
    waiting = source.waiting()
    for start in range(0, len(waiting), run.batch_size):
        batch = waiting[start : start + run.batch_size]
        with tempfile.TemporaryDirectory(prefix="pingan-mail-") as folder:
            _batch(run, source, batch, Spool(Path(folder), SPOOL_MEMORY), report)
        if run.progress is not None:
            run.progress(min(start + run.batch_size, len(waiting)), len(waiting))
    return report


def _batch(
    run: MailRun, source: MailSource, batch: Sequence[Envelope], spool: Spool, report: MailReport
) -> None:
    limit = max_message_bytes(run.intake.max_bytes)
    mails = [_read(run, fetched, spool) for fetched in source.fetch(batch, limit)]
    report.mails += len(mails)
    engine, cid = run.intake.engine, run.intake.campaign_id
    known = known_messages(engine, cid, {m.mail.message_key for m in mails})
    report.already += sum(m.mail.message_key in known for m in mails)
    fresh = [m for m in mails if m.mail.message_key not in known]
    for m in fresh:
        if m.ignored:
            log.info(
                "邮件已忽略（%s）：发件人 %s，标题 %s", m.ignored, m.mail.sender, m.mail.subject
            )
    senders = sender_units(engine, cid, {m.mail.sender for m in fresh})
    route(run.intake, run.campaign, file_gates(engine, cid), senders, fresh)
    _take_in(run, fresh, report)
    receipts = build_receipts(run, fresh, run.templates_dir)
    record(
        engine,
        Recording(
            campaign_id=cid,
            campaign_code=run.campaign.code,
            now=run.intake.received_utc,
            planned_on=run.intake.received_on,
            rows=mail_rows(fresh),
            receipts=receipts,
        ),
    )
    report.receipts += len(receipts)
    report.ignored += sum(bool(m.ignored) for m in fresh)
    report.refused += sum(bool(m.refusal) for m in fresh)
    # Only now, with everything committed, may the server forget them; a mail with a file
    # left for later (it could not be stored) stays, unrecorded, for the next run.
    done = [m for m in mails if m.mail.message_key in known or not (m.ignored or m.unsettled)]
    source.mark([m.uid for m in done])
    source.mark([m.uid for m in fresh if m.ignored], ignored=True)


def _read(run: MailRun, fetched: Fetched, spool: Spool) -> Decided:
    env = fetched.envelope
    mail = parse_mail(fetched.raw, spool) if fetched.complete else parse_header(fetched.raw)
    at = _received_at(run, env, mail)
    decided = Decided(uid=env.uid, mail=mail, received_at=at, raw=None)
    tz = ZoneInfo(run.campaign.timezone)
    sent = (env.internal_date or mail.sent_at or at).astimezone(tz).date()
    if is_automatic(mail.headers, run.own_addresses):
        decided.ignored = "自动回复、退信或本系统发出的邮件"
    elif sent < run.campaign.starts_on:
        decided.ignored = f"收到于 {sent}，早于创建活动开始日期 {run.campaign.starts_on}"
    elif not fetched.complete:
        decided.refuse("mail_too_large", _too_large(env.size, run.intake.max_bytes))
    elif mail.too_many:
        decided.refuse("mail_too_many", "附件过多（一封邮件最多 50 个附件），请分多封邮件发送")
    elif not mail.attachments:
        decided.refuse("mail_no_attachment", "邮件中没有附件，请将材料作为附件发送")
    if decided.refusal or decided.ignored:
        # Kept for the quarantine: a mail without attachments, or the header of one too big.
        decided.raw = fetched.raw if decided.refusal else None
        for a in mail.attachments:
            a.remove()
        mail.attachments.clear()
    return decided


def _received_at(run: MailRun, env: Envelope, mail: ParsedMail) -> datetime:
    """When the mail counts as received: its arrival on the server, never in the future."""
    if run.replay:
        return run.intake.received_at
    now = run.intake.received_at.astimezone(UTC)
    arrived = env.internal_date or mail.sent_at
    return now if arrived is None else min(arrived.astimezone(UTC), now)


def _too_large(size: int, limit: int) -> str:
    return (
        f"邮件过大（{size_label(size)}，一封邮件不得超过 {size_label(max_message_bytes(limit))}，"
        f"其中单个附件不得超过 {size_label(limit)}），请压缩或分多封邮件发送"
    )


def _take_in(run: MailRun, mails: list[Decided], report: MailReport) -> None:
    """The attachments through the inbox's intake, one pass per day of receipt (the day
    decides late marking); refused whole mails go to the quarantine with their reason."""
    by_day: dict[date, list[Item]] = {}
    runs: dict[date, IntakeRun] = {}
    size = _batch_size(mails)
    for m in mails:
        if m.refusal and m.raw is not None and run.intake.quarantine is not None:
            code, reason = m.refusal
            run.intake.quarantine.put(
                functools.partial(io.BytesIO, m.raw),
                f"{m.mail.message_key[:16]}.eml",
                code,
                reason,
                run.intake.received_local,
            )
        if not m.items:
            continue
        key = m.received_at.astimezone(run.intake.received_local.tzinfo).date()
        if key not in runs:
            runs[key] = dataclasses.replace(run.intake, received_at=m.received_at, batch_size=size)
        by_day.setdefault(key, []).extend(m.items)
    for key, items in by_day.items():
        process(runs[key], items, report.files)


def _batch_size(mails: Sequence[Decided]) -> int:
    return max(1, min(10_000, sum(len(m.items) for m in mails)))


__all__ = ["WHOLE_MAIL", "MailReport", "MailRun", "collect_mail", "max_message_bytes"]

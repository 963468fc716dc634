"""The mail row of bench/intake.py: N mails with one PDF each in a private Dovecot, read by
mail intake (IMAPS, batches, checks, evidence, rows, receipts, flags) against a bare imaplib
fetch of the same mails plus the sha256 of each, in the same run: the bare fetch before,
between and after the intake runs, each intake run on a fresh database and evidence store
with every mail unmarked again; medians compared."""

from __future__ import annotations

import hashlib
import imaplib
import ssl
import statistics
import time
from collections.abc import Callable
from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, text

from pingan.adapters.intake.collect import IntakeRun
from pingan.adapters.intake.mail import (
    Mailbox,
    MailboxConfig,
    MailReport,
    MailRun,
    collect_mail,
)
from pingan.adapters.intake.store import EvidenceStore, Quarantine
from pingan.core.campaign import Campaign

BATCH = 100


def _mail(i: int, sender: str, body: bytes) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = "zzzx@mail.test"
    msg["Subject"] = "【自查报告】"
    msg["Message-ID"] = f"<bench-{i}@unit.example>"
    msg.set_content("材料见附件。")
    msg.add_attachment(body, maintype="application", subtype="pdf", filename=f"自查报告-{i}.pdf")
    return msg.as_bytes(policy=SMTP)


def _bare(server: Any) -> tuple[float, int]:
    """Log in, list, fetch every mail in batches and hash it: the floor of any intake."""
    start = time.perf_counter()
    context = ssl.create_default_context(cafile=str(server.ca_file))
    conn = imaplib.IMAP4_SSL("127.0.0.1", server.imaps_port, ssl_context=context)
    from tests.mail.dovecot import PASSWORD, USER

    conn.login(USER, PASSWORD)
    conn.select("INBOX")
    uids = (conn.uid("SEARCH", "ALL")[1][0] or b"").split()
    hashed = 0
    for i in range(0, len(uids), BATCH):
        _, data = conn.uid("FETCH", b",".join(uids[i : i + BATCH]).decode(), "(BODY.PEEK[])")
        for item in data:
            if isinstance(item, tuple):
                hashlib.sha256(item[1]).hexdigest()
                hashed += 1
    conn.logout()
    return time.perf_counter() - start, hashed


def _reset(server: Any) -> None:
    """Unmark every mail, so the next run reads the whole mailbox again."""
    from pingan.adapters.intake.mail.imap import DONE_KEYWORD, IGNORED_KEYWORD

    conn = server.client()
    try:
        conn.select("INBOX")
        conn.uid("STORE", "1:*", "-FLAGS.SILENT", f"({DONE_KEYWORD} {IGNORED_KEYWORD})")
    finally:
        conn.logout()


def _timed_intake(
    server: Any, campaign: Campaign, database: tuple[Engine, int], work: Path
) -> tuple[float, MailReport]:
    from bench.intake import RECEIVED_AT, TZ
    from tests.mail.dovecot import PASSWORD, USER

    engine, campaign_id = database
    config = MailboxConfig(
        "127.0.0.1", server.imaps_port, "imaps", USER, PASSWORD, ca_file=str(server.ca_file)
    )
    run = MailRun(
        intake=IntakeRun(
            engine=engine,
            campaign_id=campaign_id,
            tz=TZ,
            received_at=RECEIVED_AT,
            evidence=EvidenceStore(work / "evidence"),
            quarantine=Quarantine(work / "quarantine"),
            max_bytes=20 * 1024 * 1024,
            source="mail",
        ),
        campaign=campaign,
        batch_size=BATCH,
        replay=True,
    )
    start = time.perf_counter()
    with Mailbox(config) as box:
        report = collect_mail(run, box)
    seconds = time.perf_counter() - start
    engine.dispose()
    if not report.mails or report.files.accepted != report.mails:
        f = report.files
        raise RuntimeError(
            f"unexpected mail intake result: accepted {f.accepted}, rejected {f.by_reason}"
        )
    return seconds, report


def mail_row(
    prepare: Callable[[str], tuple[Engine, int]],
    campaign: Campaign,
    work: Path,
    mails: int,
    pdf: Any,
    repeat: int = 3,
) -> dict[str, Any] | None:
    """repeat runs of mail intake, each on a fresh database and evidence store with every
    mail unmarked, between bare runs; the medians are compared."""
    from tests.mail.dovecot import DOVECOT, Dovecot

    if DOVECOT is None:
        return None
    server = Dovecot.fresh().start()
    try:
        engine, _ = database = prepare("mail0.db")
        with engine.connect() as conn:
            senders = list(
                conn.execute(
                    text(
                        "SELECT min(c.email) FROM unit u JOIN contact c ON c.unit_id = u.id "
                        "WHERE u.kind = 'cell' AND c.email <> '' GROUP BY u.id ORDER BY u.id"
                    )
                ).scalars()
            )
        began = time.perf_counter()
        server.append_many([_mail(i, senders[i % len(senders)], pdf(i)) for i in range(mails)])
        append_s = time.perf_counter() - began
        bare_runs = [_bare(server)[0]]
        runs: list[float] = []
        for i in range(repeat):
            if i:
                _reset(server)
                database = prepare(f"mail{i}.db")
            seconds, report = _timed_intake(server, campaign, database, work / f"mail{i}")
            runs.append(seconds)
            bare_runs.append(_bare(server)[0])
    finally:
        server.remove()
    if report.mails != mails:
        raise RuntimeError(f"unexpected mail intake result: read {report.mails} of {mails}")
    seconds, bare = statistics.median(runs), statistics.median(bare_runs)
    return {
        "mails": mails,
        "seconds": round(seconds, 3),
        "mails_per_s": round(mails / seconds, 1),
        "baseline_seconds": round(bare, 3),
        "runs_seconds": [round(x, 3) for x in runs],
        "baseline_runs_seconds": [round(x, 3) for x in bare_runs],
        "ratio": round(seconds / bare, 2),
        "target_ratio": 2.0,
        "meets_target": seconds / bare <= 2.0,
        "batch_size": BATCH,
        "receipts": report.receipts,
        "append_seconds": round(append_s, 1),
    }

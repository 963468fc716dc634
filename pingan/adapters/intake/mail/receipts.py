"""What each mail became, as rows (mail_item) and as the receipt its sender is sent."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from pingan.adapters.db.mail import WHOLE_MAIL
from pingan.adapters.intake.collect.model import FileOutcome, Item
from pingan.adapters.intake.mail.model import Decided
from pingan.adapters.intake.mail.records import MailRow, ReceiptMail, unit_ids
from pingan.adapters.render.messages import render
from pingan.core.receipts import receipt_number

if TYPE_CHECKING:
    from pingan.adapters.intake.mail.intake import MailRun

__all__ = ["Decided", "build_receipts", "mail_rows"]

log = logging.getLogger("pingan.mail")
_SUBJECT_SHOWN = 80


def _receipt(outcome: FileOutcome | None) -> str | None:
    if outcome is None or outcome.state not in ("accepted", "duplicate"):
        return None
    if outcome.submission_id is None or outcome.received_on is None or not outcome.sha256:
        return None
    return receipt_number(outcome.received_on, outcome.submission_id, outcome.sha256)


def mail_rows(mails: Sequence[Decided]) -> list[MailRow]:
    rows: dict[tuple[str, str], MailRow] = {}
    for m in mails:
        if m.unsettled:
            continue
        if m.ignored or m.refusal or not m.items:
            code, reason = m.refusal or ("ignored", m.ignored or "")
            state = "refused" if m.refusal else "ignored"
            row = _row(
                m,
                sha256=WHOLE_MAIL,
                name=None,
                state=state,
                reason_code=code,
                reason=reason,
                submission_id=None,
                receipt=None,
            )
            rows.setdefault((m.mail.message_key, WHOLE_MAIL), row)
            continue
        for a, item in zip(m.mail.attachments, m.items, strict=True):
            o = item.outcome
            assert o is not None
            row = _row(
                m,
                sha256=a.sha256,
                name=a.name,
                state=o.state,
                reason_code=o.reason_code,
                reason=o.reason,
                submission_id=o.submission_id,
                receipt=_receipt(o),
            )
            rows.setdefault((m.mail.message_key, a.sha256), row)
    return list(rows.values())


def _row(m: Decided, **fields: Any) -> MailRow:
    return MailRow(
        message_key=m.mail.message_key,
        message_id=m.mail.message_id,
        sender=m.mail.sender or None,
        unit_code=m.unit,
        **fields,
    )


def build_receipts(
    run: MailRun, mails: Sequence[Decided], templates_dir: str | None
) -> list[ReceiptMail]:
    """One receipt per mail answered: not for ignored mails, nor mails without a sender."""
    answered = [m for m in mails if not m.ignored and not m.unsettled and m.mail.sender]
    if not answered:
        return []
    ids = unit_ids(run.intake.engine, run.intake.campaign_id, {m.unit for m in answered if m.unit})
    receipts: list[ReceiptMail] = []
    for m in answered:
        recipient = ids.get(m.unit or "") or ids.get("")
        if recipient is None:
            log.warning("无法为邮件 %s 安排回执：活动没有综治委单位", m.mail.message_key[:16])
            continue
        subject, body = render("mail-receipt", _context(run, m), templates_dir)
        receipts.append(ReceiptMail(m.mail.message_key, recipient, m.mail.sender, subject, body))
    return receipts


def _context(run: MailRun, m: Decided) -> dict[str, Any]:
    c = run.campaign
    tz = run.intake.received_local.tzinfo
    local = m.received_at.astimezone(tz)
    files = [_file(a.name, item) for a, item in zip(m.mail.attachments, m.items, strict=True)]
    subject = m.mail.subject or "（无标题）"
    if len(subject) > _SUBJECT_SHOWN:
        subject = subject[:_SUBJECT_SHOWN] + "…"
    office = c.coordinator.office.name if c.coordinator.office else c.coordinator.name
    return {
        "campaign": {"short": c.short_name or c.name, "name": c.name},
        "office": office,
        "mail": {"subject": subject, "received": f"{local:%Y年%-m月%-d日 %H:%M}"},
        "unit": m.unit,
        "refusal": m.refusal[1] if m.refusal else None,
        "files": files,
        "refused": bool(m.refusal) or any(f["state"] == "rejected" for f in files),
        "accepted": any(f["receipt"] for f in files),
        "how_to": c.how_to_submit,
        "today": run.intake.received_on,
    }


def _file(name: str, item: Item) -> dict[str, Any]:
    o = item.outcome
    assert o is not None
    return {
        "name": name,
        "state": o.state,
        "late": o.late,
        "receipt": _receipt(o),
        "reason": o.reason,
    }

"""The database half of mail intake: which mails were handled, who a sender is, and recording
a batch's mail rows and receipts in one durable transaction (set-based, one per batch)."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Engine, func, select, text

from pingan.adapters.db.base import table
from pingan.adapters.db.bulk import insert_or_ignore
from pingan.adapters.db.deliveries import DeliveryRow
from pingan.adapters.db.intake import durable_transaction
from pingan.adapters.db.mail import MailItemRow
from pingan.adapters.db.notifications import TEXT_KEYED, NotificationRow
from pingan.adapters.db.planner.rows import SUBJECT_LIMIT, text_key
from pingan.adapters.db.units import ContactRow, UnitRow

RECEIPT_KIND = "mail_receipt"
_IN_CHUNK = 900  # values per IN list: well inside both backends' parameter limits


@dataclass(frozen=True, slots=True)
class MailRow:
    """What became of one attachment (or of a whole mail, with sha256 WHOLE_MAIL)."""

    message_key: str
    sha256: str
    message_id: str | None
    sender: str | None
    name: str | None
    unit_code: str | None
    state: str
    reason_code: str | None
    reason: str | None
    submission_id: int | None
    receipt: str | None


@dataclass(frozen=True, slots=True)
class ReceiptMail:
    """A receipt to send: to the sender's address, filed under the unit it concerns."""

    message_key: str
    unit_id: int
    address: str
    subject: str
    body: str


def _chunks(values: Collection[str]) -> list[list[str]]:
    ordered = sorted(values)
    return [ordered[i : i + _IN_CHUNK] for i in range(0, len(ordered), _IN_CHUNK)]


def known_messages(engine: Engine, campaign_id: int, keys: Collection[str]) -> set[str]:
    """The message keys already recorded for the campaign."""
    found: set[str] = set()
    with engine.connect() as conn:
        for chunk in _chunks(keys):
            found.update(
                conn.scalars(
                    select(MailItemRow.message_key)
                    .where(MailItemRow.campaign_id == campaign_id)
                    .where(MailItemRow.message_key.in_(chunk))
                    .distinct()
                )
            )
    return found


def sender_units(
    engine: Engine, campaign_id: int, addresses: Collection[str]
) -> dict[str, list[str]]:
    """address → codes of the active units with a contact using it (case-insensitive)."""
    out: dict[str, set[str]] = {}
    email = func.lower(func.trim(ContactRow.email))
    with engine.connect() as conn:
        for chunk in _chunks({a for a in addresses if a}):
            rows = conn.execute(
                select(email, UnitRow.code)
                .join(UnitRow, UnitRow.id == ContactRow.unit_id)
                .where(UnitRow.campaign_id == campaign_id, UnitRow.status == "active")
                .where(email.in_(chunk))
            )
            for address, code in rows:
                out.setdefault(str(address), set()).add(str(code))
    return {a: sorted(codes) for a, codes in out.items()}


def unit_ids(engine: Engine, campaign_id: int, codes: Collection[str]) -> dict[str, int]:
    """Unit id by code for codes, plus the coordinator's under the key ""."""
    out: dict[str, int] = {}
    with engine.connect() as conn:
        coordinator = conn.scalar(
            select(UnitRow.id)
            .where(UnitRow.campaign_id == campaign_id, UnitRow.kind == "coordinator")
            .order_by(UnitRow.id)
            .limit(1)
        )
        if coordinator is not None:
            out[""] = int(coordinator)
        for chunk in _chunks(set(codes)):
            for code, uid in conn.execute(
                select(UnitRow.code, UnitRow.id).where(
                    UnitRow.campaign_id == campaign_id, UnitRow.code.in_(chunk)
                )
            ):
                out[str(code)] = int(uid)
    return out


@dataclass(frozen=True, slots=True)
class Recording:
    """What one batch writes: the campaign, the moment, its mail rows and receipts."""

    campaign_id: int
    campaign_code: str
    now: datetime  # naive UTC
    planned_on: date
    rows: Sequence[MailRow]
    receipts: Sequence[ReceiptMail]


def record(engine: Engine, rec: Recording) -> None:
    """Mail rows and receipts (notification + its email delivery) in one transaction; rows
    and receipts already there are left alone, so a batch recorded twice changes nothing."""
    with durable_transaction(engine) as conn:
        if rec.rows:
            # executemany: one compiled statement, whatever the batch's size.
            conn.execute(
                insert_or_ignore(conn, table(MailItemRow)).on_conflict_do_nothing(
                    index_elements=["campaign_id", "message_key", "sha256"]
                ),
                [_mail_row(rec, r) for r in rec.rows],
            )
        if not rec.receipts:
            return
        keys = {
            r.message_key: text_key(RECEIPT_KIND, rec.campaign_code, r.message_key)
            for r in rec.receipts
        }
        conn.execute(
            insert_or_ignore(conn, table(NotificationRow)).on_conflict_do_nothing(
                index_elements=["dedupe_key"], index_where=text(TEXT_KEYED)
            ),
            [_notification(rec, keys[r.message_key], r) for r in rec.receipts],
        )
        ids: dict[str, int] = {
            str(key): int(nid)
            for key, nid in conn.execute(
                select(NotificationRow.dedupe_key, NotificationRow.id).where(
                    NotificationRow.dedupe_key.in_(list(keys.values())),
                    NotificationRow.obligation_id.is_(None),  # the key's (partial) index
                )
            )
        }
        conn.execute(
            insert_or_ignore(conn, table(DeliveryRow)).on_conflict_do_nothing(
                index_elements=["notification_id", "channel", "address"]
            ),
            [_delivery(rec, ids[keys[r.message_key]], r) for r in rec.receipts],
        )


def _mail_row(rec: Recording, r: MailRow) -> dict[str, Any]:
    return {
        "campaign_id": rec.campaign_id,
        "message_key": r.message_key,
        "sha256": r.sha256,
        "message_id": r.message_id,
        "sender": (r.sender or None) and r.sender[:254],
        "name": r.name[:500] if r.name else None,
        "unit_code": r.unit_code[:64] if r.unit_code else None,
        "state": r.state,
        "reason_code": r.reason_code[:32] if r.reason_code else None,
        "reason": r.reason[:500] if r.reason else None,
        "submission_id": r.submission_id,
        "receipt": r.receipt,
        "received_at": rec.now,
    }


def _notification(rec: Recording, key: str, r: ReceiptMail) -> Mapping[str, Any]:
    return {
        "campaign_id": rec.campaign_id,
        "dedupe_key": key,
        "kind": RECEIPT_KIND,
        "level": 0,
        "recipient_unit_id": r.unit_id,
        "obligation_id": None,
        "planned_on": rec.planned_on,
        "subject": r.subject[:SUBJECT_LIMIT],
        "body": r.body,
        "state": "queued",
        "attempts": 0,
        "next_attempt_at": rec.now,
    }


def _delivery(rec: Recording, notification_id: int, r: ReceiptMail) -> Mapping[str, Any]:
    return {
        "notification_id": notification_id,
        "campaign_id": rec.campaign_id,
        "channel": "email",
        "address": r.address[:254],
        "state": "queued",
        "attempts": 0,
        "next_attempt_at": rec.now,
        "created_at": rec.now,
        "parts": 0,
    }

"""``POST /u/<token>``: one file from the upload form, spooled to disk, through the inbox's
intake, answered with a receipt or a refusal (both audited).

The form names a gate, never a unit: the gate must be one the admitted visit's unit owes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from pingan.adapters.intake.checks import is_unsafe_char
from pingan.adapters.intake.collect import FileOutcome
from pingan.portal.admission import ACTOR, Admission
from pingan.portal.config import PortalConfig
from pingan.portal.headers import is_disk_full, log
from pingan.portal.pages import Pages
from pingan.portal.quota import Charge, charge, exceeded, usage
from pingan.portal.receipts import receipt_number
from pingan.portal.refusals import (
    DISK_FULL,
    NO_FILE,
    NOT_RECORDED,
    TIMED_OUT,
    UNKNOWN_GATE,
    Refusal,
    bad_form,
    over_quota,
    refusal_page,
    rejected,
    too_large,
)
from pingan.portal.uploads import (
    BadForm,
    SpooledUpload,
    UploadTimedOut,
    UploadTooLarge,
    declared_too_large,
    read_upload,
)
from pingan.portal.visits import UploadTarget, Visit, upload_target
from pingan.services.collect import IntakeStores, collect_upload

MAX_SUBMITTED_BY = 50


def printable(text: str, *, drop: bool = False) -> str:
    """text without control, bidi or lone-surrogate characters (escaped, or dropped): they
    cannot go into PostgreSQL text or JSON, and could forge lines in what people read."""
    return "".join(
        ("" if drop else f"\\u{ord(ch):04x}") if is_unsafe_char(ch) else ch for ch in text
    )


@dataclass(frozen=True)
class Sending:
    """One upload as the audit tells it, before intake's outcome is known."""

    base: Mapping[str, Any]  # gate, token fingerprint, address
    file_name: str
    by: str  # who the form says sent it, cleaned; "" when not given

    def detail(self, outcome: FileOutcome) -> dict[str, Any]:
        receipt = (
            receipt_number(outcome.received_on, outcome.submission_id, outcome.sha256)
            if outcome.received_on and outcome.submission_id and outcome.sha256
            else None
        )
        return {
            **self.base,
            "state": outcome.state,
            "file": printable(self.file_name)[:200],
            "size": outcome.size,
            "sha256": outcome.sha256,
            "obligation": outcome.obligation_id,
            "submission": outcome.submission_id,
            "receipt": receipt,
            "late": outcome.late,
            "submitted_by": self.by or None,
        }


class Submission:
    def __init__(
        self, engine: Engine, config: PortalConfig, admission: Admission, pages: Pages
    ) -> None:
        self.engine = engine
        self.config = config
        self.admission = admission
        self.pages = pages

    async def post(self, request: Request, visit: Visit) -> Response:
        """Check the unit's daily quota, read the form into the spool (refusing what cannot
        fit as early as possible), then take the file in a worker thread."""
        base = {"token": visit.fp, "address": visit.address}
        at = Charge(visit.info.id, visit.unit.id, visit.info.local(self.config.now()).date())
        over = await run_in_threadpool(self.over_quota, at, 0)
        if over is not None:
            return await self._refuse(request, visit, over, base)
        spooled = await self._spool(request, visit, base)
        if isinstance(spooled, Response):
            return spooled
        try:
            return await run_in_threadpool(self.take, request, visit, spooled, at)
        except OSError as exc:
            if not is_disk_full(exc):
                raise
            return await self._disk_full(request, visit, {**base, "size": spooled.size})
        finally:
            spooled.discard()

    async def _spool(
        self, request: Request, visit: Visit, base: Mapping[str, Any]
    ) -> SpooledUpload | Response:
        limit = self.config.max_file_bytes
        declared = declared_too_large(request.headers.get("content-length"), limit)
        if declared is not None:
            extra = {**base, "declared": declared}
            return await self._refuse(request, visit, too_large(declared, limit), extra)
        try:
            return await read_upload(
                request.stream(),
                request.headers.get("content-type"),
                spool_dir=self.config.spool_dir,
                max_file_bytes=limit,
                idle_timeout_s=self.config.upload_idle_s,
            )
        except UploadTooLarge as exc:
            extra = {**base, "received": exc.at_least}
            return await self._refuse(request, visit, too_large(exc.at_least, limit), extra)
        except UploadTimedOut:
            response = await self._refuse(request, visit, TIMED_OUT, base)
            response.headers["Connection"] = "close"
            return response
        except BadForm as exc:
            return await self._refuse(request, visit, bad_form(exc.message), base)
        except ClientDisconnect:
            await run_in_threadpool(
                self.admission.audit,
                "portal.refuse",
                campaign_id=visit.info.id,
                unit_code=visit.unit.code,
                after={**base, "reason": "client_disconnected", "status": 400},
            )
            return Response(status_code=400)
        except OSError as exc:
            if not is_disk_full(exc):
                raise
            return await self._disk_full(request, visit, base)

    async def _refuse(
        self, request: Request, visit: Visit, refusal: Refusal, extra: Mapping[str, Any]
    ) -> Response:
        return await run_in_threadpool(
            self.admission.refuse, request, refusal, fp=visit.fp, visit=visit, extra=extra
        )

    async def _disk_full(
        self, request: Request, visit: Visit, extra: Mapping[str, Any]
    ) -> Response:
        """507: nothing was kept (the spool and intake remove their partial files). The
        audit row is written if the database still can; the page goes out either way."""
        log.error("portal upload refused: the disk is full")
        try:
            return await self._refuse(request, visit, DISK_FULL, extra)
        except (OSError, SQLAlchemyError):
            return refusal_page(self.pages, request, DISK_FULL, visit.info)

    def over_quota(self, at: Charge, incoming: int) -> Refusal | None:
        quota = self.config.quota
        with self.engine.connect() as conn:
            used = usage(conn, at.unit_id, at.day)
        which = exceeded(quota, used, incoming)
        if which is None:
            return None
        limit = quota.stored_bytes_per_day if which == "stored" else quota.quarantined_bytes_per_day
        return over_quota(which, limit)

    def take(
        self, request: Request, visit: Visit, upload: SpooledUpload, at: Charge
    ) -> HTMLResponse:
        """Runs in a worker thread: intake does blocking file and database I/O."""
        gate_key = upload.fields.get("gate", "")
        item = None
        if gate_key and not any(is_unsafe_char(ch) for ch in gate_key):
            with self.engine.connect() as conn:
                item = upload_target(conn, visit.info, visit.unit.id, gate_key)
        base = {"gate": printable(gate_key)[:64], "token": visit.fp, "address": visit.address}
        refuse = self.admission.refuse
        if item is None:
            return refuse(request, UNKNOWN_GATE, fp=visit.fp, visit=visit, extra=base)
        if upload.path is None or not upload.filename:
            return refuse(request, NO_FILE, fp=visit.fp, visit=visit, extra=base)
        over = self.over_quota(at, upload.size)
        if over is not None:
            return refuse(request, over, fp=visit.fp, visit=visit, extra=base)
        by = " ".join(printable(upload.fields.get("submitted_by") or "", drop=True).split())
        sending = Sending(base, upload.filename, by[:MAX_SUBMITTED_BY])
        outcome = self._collect(visit, item, upload.path, sending)
        # The quarantine keeps only a refused file's first bytes: those are what it costs.
        stored = (outcome.size or 0) if outcome.state == "accepted" else 0
        quarantined = (
            self._stores().quarantine().kept(upload.size) if outcome.state == "rejected" else 0
        )
        charge(self.engine, at, stored=stored, quarantined=quarantined)
        if outcome.state in ("accepted", "duplicate"):
            if outcome.state == "duplicate":
                self.admission.audit(
                    "portal.upload",
                    campaign_id=visit.info.id,
                    unit_code=visit.unit.code,
                    after=sending.detail(outcome),
                )
            now = self.config.now()
            return self.pages.receipt(request, visit, item, sending.file_name, outcome, now)
        if outcome.state == "rejected":
            assert outcome.reason_code is not None and outcome.reason is not None
            refusal = rejected(outcome.reason_code, outcome.reason)
        elif outcome.reason_code == "disk_full":  # intake stopped: no room to store it
            log.error("portal upload refused: the disk is full")
            refusal = DISK_FULL
        else:  # skipped: the spooled file could not be read back; nothing was recorded
            refusal = NOT_RECORDED
        extra = {**base, "file": printable(sending.file_name)[:200], "size": upload.size}
        return refuse(request, refusal, fp=visit.fp, visit=visit, extra=extra)

    def _stores(self) -> IntakeStores:
        c = self.config
        return IntakeStores(
            c.evidence_dir, c.quarantine_dir, c.max_file_bytes, c.quarantine_keep_bytes
        )

    def _collect(
        self, visit: Visit, item: UploadTarget, path: Path, sending: Sending
    ) -> FileOutcome:
        """The spooled file through intake, audited in intake's own transaction."""

        def audit_row(outcome: FileOutcome) -> dict[str, Any]:
            return {
                "actor": ACTOR,
                "action": "portal.upload",
                "entity": "unit",
                "entity_id": visit.unit.code,
                "after": sending.detail(outcome),
            }

        return collect_upload(
            self.engine,
            visit.info.id,
            visit.info.tz,
            unit_code=visit.unit.code,
            gate_id=item.gate_id,
            kind=item.deliverable,
            name=sending.file_name,
            path=path,
            received_at=self.config.now(),
            stores=self._stores(),
            submitted_by=sending.by or None,
            audit=audit_row,
        )

"""The submission portal: one page per unit, reached by its personal link, and its uploads.

Routes: ``GET /u/<token>`` shows what the unit owes; ``POST /u/<token>`` takes one file
(multipart, field ``file``, plus ``gate`` and an optional ``submitted_by``) through the
inbox's intake and answers with a receipt; ``/static/portal.css``; ``/healthz``. Nothing
else: no directory listing, no API docs, and no part of any URL ever names a file.

Whose data a request reaches is decided by the verified token alone: the form names a
gate, never a unit, and the gate must be one the token's unit owes.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, PlainTextResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy import Engine, insert
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pingan.adapters.db.audit import AuditEventRow
from pingan.adapters.db.base import utcnow
from pingan.adapters.intake.checks import is_unsafe_char
from pingan.adapters.intake.collect import (
    FileOutcome,
    allowed_types_label,
    size_label,
    too_large_message,
)
from pingan.adapters.render.messages import cn_date, weekday
from pingan.core.links import (
    MIN_SECRET_LENGTH,
    LinkClaims,
    TokenExpired,
    TokenInvalid,
    fingerprint,
    secret_of,
    verify,
)
from pingan.portal.ratelimit import Rate, RateLimiter
from pingan.portal.receipts import receipt_number
from pingan.portal.uploads import (
    BadForm,
    SpooledUpload,
    UploadTooLarge,
    declared_too_large,
    read_upload,
)
from pingan.portal.visits import (
    CampaignInfo,
    UnitRef,
    UploadTarget,
    campaign_info,
    find_unit,
    unit_items,
    upload_target,
)
from pingan.services.collect import collect_upload
from pingan.settings import Settings

log = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
ACTOR = "portal"
# A phone network puts many people behind one address (carrier NAT), so the per-address
# limit is generous; the per-link limit is what stops a script.
DEFAULT_TOKEN_RATE = Rate(per_minute=30, burst=20)
DEFAULT_ADDRESS_RATE = Rate(per_minute=600, burst=200)
CAMPAIGN_CACHE_S = 60.0
MAX_SUBMITTED_BY = 50

CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'none'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS: tuple[tuple[str, str], ...] = (
    ("Content-Security-Policy", CSP),
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    # The token is in the path: no Referer may carry it to another site.
    ("Referrer-Policy", "no-referrer"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
    ("Cross-Origin-Resource-Policy", "same-origin"),
    ("X-Robots-Tag", "noindex, nofollow"),
)

# HTTP status for each intake rejection, so a client can tell them apart.
REJECTION_STATUS = {
    "too_large": 413,
    "bad_type": 415,
    "empty": 422,
    "unsafe_name": 422,
    "gate_not_open": 409,
    "withdrawn_unit": 410,
    "not_owed": 404,
    "unknown_kind": 404,
    "unknown_unit": 404,
}


class PortalNotConfigured(Exception):
    """The one-line Chinese reason why the portal cannot start."""


@dataclass(frozen=True)
class Refusal:
    status: int
    code: str  # stable, English: audited
    title: str
    message: str
    hint: str | None = None
    back: bool = False  # the link itself is fine: offer the way back to the page
    retry_after: int | None = None


@dataclass(frozen=True)
class Visit:
    fp: str  # the token's fingerprint: the token itself is not kept
    address: str
    claims: LinkClaims
    info: CampaignInfo
    unit: UnitRef


def bad_token() -> Refusal:
    return Refusal(
        403,
        "token_invalid",
        "链接无效",
        "此链接不完整、已被改动或已停用，无法打开。",
        "请从最近收到的通知中完整复制链接后重试。",
    )


def _template_env() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(HERE / "templates")),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["cn_date"] = cn_date
    env.filters["weekday"] = weekday
    env.filters["cn_time"] = lambda d: f"{cn_date(d)} {d:%H:%M}"
    env.filters["size"] = size_label
    return env


class SecurityHeaders:
    """Adds the security headers to every response, errors included (pure ASGI: no
    buffering of request or response bodies)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS:
                    headers[name] = value
                if "cache-control" not in headers:
                    # Pages show a unit's data: no shared or back-button cache keeps them.
                    headers["Cache-Control"] = "no-store"
            await send(message)

        await self.app(scope, receive, send_with_headers)


class Portal:
    def __init__(
        self,
        engine: Engine,
        *,
        secret: str,
        evidence_dir: Path,
        quarantine_dir: Path,
        spool_dir: Path,
        max_file_bytes: int,
        token_rate: Rate,
        address_rate: Rate,
        clock: Callable[[], datetime],
        monotonic: Callable[[], float],
    ) -> None:
        if len(secret) < MIN_SECRET_LENGTH:
            raise PortalNotConfigured(
                f"PINGAN_PORTAL_SECRET 过短（至少 {MIN_SECRET_LENGTH} 个字符），门户未启动"
            )
        self.engine = engine
        self.secret = secret
        self.evidence_dir = evidence_dir
        self.quarantine_dir = quarantine_dir
        self.spool_dir = spool_dir
        self.max_file_bytes = max_file_bytes
        self.by_token = RateLimiter(token_rate)
        self.by_address = RateLimiter(address_rate)
        self.clock = clock
        self.monotonic = monotonic
        self.templates = _template_env()
        self._campaigns: dict[str, tuple[float, CampaignInfo]] = {}

    # --- helpers -----------------------------------------------------------------------

    def now(self) -> datetime:
        moment = self.clock()
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)

    def page(self, name: str, request: Request, status: int = 200, **context: Any) -> HTMLResponse:
        depth = max(0, request.url.path.count("/") - 1)
        html = self.templates.get_template(name).render(root="../" * depth, **context)
        return HTMLResponse(html, status_code=status)

    def refusal_page(
        self, request: Request, refusal: Refusal, info: CampaignInfo | None = None
    ) -> HTMLResponse:
        response = self.page(
            "refusal.html",
            request,
            refusal.status,
            title=refusal.title,
            heading=info.short if info else None,
            message=refusal.message,
            hint=refusal.hint,
            back=refusal.back,
            office_name=info.office_name if info else None,
            office_phone=info.office_phone if info else None,
        )
        if refusal.retry_after is not None:
            response.headers["Retry-After"] = str(refusal.retry_after)
        return response

    def audit(
        self,
        action: str,
        *,
        campaign_id: int | None,
        unit_code: str | None,
        after: Mapping[str, Any],
    ) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                insert(AuditEventRow).values(
                    campaign_id=campaign_id,
                    at=utcnow(),
                    actor=ACTOR,
                    action=action,
                    entity="unit" if unit_code else "portal_link",
                    entity_id=unit_code,
                    after=dict(after),
                )
            )

    def refuse(
        self,
        request: Request,
        refusal: Refusal,
        *,
        fp: str,
        visit: Visit | None = None,
        claims: LinkClaims | None = None,
        info: CampaignInfo | None = None,
        extra: Mapping[str, Any] | None = None,
        audit: bool = True,
    ) -> HTMLResponse:
        """Audit the refusal (with the token's fingerprint, never the token) and answer it."""
        info = visit.info if visit else info
        if audit:
            unit_code = visit.unit.code if visit else (claims.unit if claims and info else None)
            self.audit(
                "portal.refuse",
                campaign_id=info.id if info else None,
                unit_code=unit_code,
                after={
                    "reason": refusal.code,
                    "status": refusal.status,
                    "token": fp,
                    "address": client_address(request),
                    "method": request.method,
                    **(extra or {}),
                },
            )
        return self.refusal_page(request, refusal, info)

    def campaign(self, code: str) -> CampaignInfo | None:
        cached = self._campaigns.get(code)
        now = self.monotonic()
        if cached is not None and now - cached[0] < CAMPAIGN_CACHE_S:
            return cached[1]
        with self.engine.connect() as conn:
            info = campaign_info(conn, code)
        if info is not None:
            self._campaigns[code] = (now, info)
        return info

    # --- the steps every /u/ request goes through ---------------------------------------

    def limited(self, request: Request, fp: str) -> Response | None:
        now = self.monotonic()
        address = client_address(request)
        for limiter, key, scope in (
            (self.by_address, address, "address"),
            (self.by_token, fp, "token"),
        ):
            decision = limiter.hit(key, now)
            if not decision.allowed:
                refusal = Refusal(
                    429,
                    "rate_limited",
                    "操作过于频繁",
                    f"请约 {decision.retry_after_s} 秒后再试。",
                    retry_after=decision.retry_after_s,
                )
                return self.refuse(
                    request,
                    refusal,
                    fp=fp,
                    extra={"limit": scope, "refused_since_audit": decision.refused_since_audit},
                    audit=decision.audit,
                )
        return None

    def visit(self, request: Request, token: str, fp: str) -> Visit | Response:
        """The verified unit behind a token, or the refusal page (audited)."""
        try:
            claims = verify(token, self.secret, self.now())
        except TokenInvalid:
            return self.refuse(request, bad_token(), fp=fp)
        except TokenExpired as exc:
            info = self.campaign(exc.claims.campaign)
            refusal = Refusal(
                410,
                "token_expired",
                "链接已过期",
                "此链接已超过有效期，无法再使用。",
                "请使用最近一次通知中的链接。",
            )
            return self.refuse(request, refusal, fp=fp, claims=exc.claims, info=info)
        info = self.campaign(claims.campaign)
        unit = None
        if info is not None:
            with self.engine.connect() as conn:
                unit = find_unit(conn, info.id, claims.unit)
        if info is None or unit is None:
            refusal = Refusal(
                410, "unit_gone", "链接已失效", "此链接对应的创建活动或单位已不存在。"
            )
            return self.refuse(request, refusal, fp=fp, claims=claims, info=info)
        if claims.version != unit.version:
            refusal = Refusal(
                410,
                "token_revoked",
                "链接已作废",
                "此链接已被作废，可能已向贵单位发放了新的链接。",
                "请使用最近一次通知中的链接。",
            )
            return self.refuse(
                request, refusal, fp=fp, claims=claims, info=info, extra={"version": claims.version}
            )
        if unit.status != "active":
            refusal = Refusal(
                410,
                "unit_withdrawn",
                "单位已退出",
                "该单位已退出本次创建活动，不再接收报送材料。",
            )
            return self.refuse(request, refusal, fp=fp, claims=claims, info=info)
        return Visit(fp, client_address(request), claims, info, unit)

    def admit(self, request: Request, token: str) -> Visit | Response:
        """Rate limits, then the token: the verified visit or the refusal page."""
        fp = fingerprint(token)
        limited = self.limited(request, fp)
        if limited is not None:
            return limited
        return self.visit(request, token, fp)

    def today(self, info: CampaignInfo) -> date:
        return info.local(self.now()).date()

    # --- pages ----------------------------------------------------------------------------

    def unit_page(self, request: Request, visit: Visit) -> HTMLResponse:
        today = self.today(visit.info)
        with self.engine.connect() as conn:
            items = unit_items(conn, visit.info, visit.unit.id, today)
        return self.page(
            "unit.html",
            request,
            title=f"{visit.unit.name} · 材料报送",
            heading=visit.info.short,
            unit=visit.unit,
            items=items,
            today=today,
            allowed=allowed_types_label(),
            max_size=size_label(self.max_file_bytes),
            expires_at=visit.info.local(visit.claims.expires_at),
            office_name=visit.info.office_name,
            office_phone=visit.info.office_phone,
        )

    def take_upload(self, request: Request, visit: Visit, upload: SpooledUpload) -> HTMLResponse:
        """Runs in a worker thread: intake does blocking file and database I/O."""
        gate_key = upload.fields.get("gate", "")
        item = None
        if gate_key and not any(is_unsafe_char(ch) for ch in gate_key):
            with self.engine.connect() as conn:
                item = upload_target(conn, visit.info, visit.unit.id, gate_key)
        base: dict[str, Any] = {
            "gate": printable(gate_key)[:64],
            "token": visit.fp,
            "address": visit.address,
        }
        if item is None:
            refusal = Refusal(
                400, "unknown_gate", "无法报送", "贵单位没有这一报送事项。", back=True
            )
            return self.refuse(request, refusal, fp=visit.fp, visit=visit, extra=base)
        if upload.path is None or not upload.filename:
            refusal = Refusal(400, "no_file", "未选择文件", "请先选择要上传的文件。", back=True)
            return self.refuse(request, refusal, fp=visit.fp, visit=visit, extra=base)
        by = " ".join(printable(upload.fields.get("submitted_by") or "", drop=True).split())
        by = by[:MAX_SUBMITTED_BY]
        file_name = upload.filename

        def audit_row(outcome: FileOutcome) -> dict[str, Any]:
            return {
                "actor": ACTOR,
                "action": "portal.upload",
                "entity": "unit",
                "entity_id": visit.unit.code,
                "after": _upload_detail(base, file_name, outcome, by),
            }

        outcome = collect_upload(
            self.engine,
            visit.info.id,
            visit.info.tz,
            unit_code=visit.unit.code,
            gate_id=item.gate_id,
            kind=item.deliverable,
            name=file_name,
            path=upload.path,
            received_at=self.now(),
            evidence_dir=self.evidence_dir,
            quarantine_dir=self.quarantine_dir,
            max_bytes=self.max_file_bytes,
            submitted_by=by or None,
            audit=audit_row,
        )
        if outcome.state in ("accepted", "duplicate"):
            if outcome.state == "duplicate":
                self.audit(
                    "portal.upload",
                    campaign_id=visit.info.id,
                    unit_code=visit.unit.code,
                    after=_upload_detail(base, file_name, outcome, by),
                )
            return self.receipt_page(request, visit, item, file_name, outcome)
        if outcome.state == "rejected":
            assert outcome.reason_code is not None and outcome.reason is not None
            refusal = Refusal(
                REJECTION_STATUS.get(outcome.reason_code, 422),
                outcome.reason_code,
                "文件未被接收",
                outcome.reason,
                back=True,
            )
        else:  # skipped: the spooled file could not be read back; nothing was recorded
            refusal = Refusal(
                503, "not_recorded", "上传未完成", "文件未能保存，请稍后重新上传。", back=True
            )
        return self.refuse(
            request,
            refusal,
            fp=visit.fp,
            visit=visit,
            extra={**base, "file": printable(file_name)[:200], "size": upload.size},
        )

    def receipt_page(
        self,
        request: Request,
        visit: Visit,
        item: UploadTarget,
        file_name: str,
        outcome: FileOutcome,
    ) -> HTMLResponse:
        assert outcome.sha256 is not None
        assert outcome.submission_id is not None and outcome.received_on is not None
        return self.page(
            "receipt.html",
            request,
            title="报送回执",
            heading=visit.info.short,
            duplicate=outcome.state == "duplicate",
            receipt=receipt_number(outcome.received_on, outcome.submission_id, outcome.sha256),
            unit=visit.unit,
            gate_name=item.gate_name,
            file_name=file_name,
            size=outcome.size or 0,
            sha256=outcome.sha256,
            received_at=visit.info.local(self.now()),
            late=outcome.late and outcome.state == "accepted",
            office_name=visit.info.office_name,
            office_phone=visit.info.office_phone,
        )


def _upload_detail(
    base: Mapping[str, Any], file_name: str, outcome: FileOutcome, by: str
) -> dict[str, Any]:
    receipt = (
        receipt_number(outcome.received_on, outcome.submission_id, outcome.sha256)
        if outcome.received_on and outcome.submission_id and outcome.sha256
        else None
    )
    return {
        **base,
        "state": outcome.state,
        "file": printable(file_name)[:200],
        "size": outcome.size,
        "sha256": outcome.sha256,
        "obligation": outcome.obligation_id,
        "submission": outcome.submission_id,
        "receipt": receipt,
        "late": outcome.late,
        "submitted_by": by or None,
    }


def printable(text: str, *, drop: bool = False) -> str:
    """text without control, bidi or lone-surrogate characters (escaped, or dropped): they
    cannot go into PostgreSQL text or JSON, and could forge lines in what people read."""
    return "".join(
        ("" if drop else f"\\u{ord(ch):04x}") if is_unsafe_char(ch) else ch for ch in text
    )


def client_address(request: Request) -> str:
    """The peer address; behind a trusted proxy uvicorn has already put the forwarded one
    here (its --forwarded-allow-ips)."""
    return request.client.host if request.client else "unknown"


def _utc_now() -> datetime:
    return datetime.now(UTC)


def create_app(
    engine: Engine,
    *,
    secret: str,
    evidence_dir: Path,
    quarantine_dir: Path,
    spool_dir: Path,
    max_file_bytes: int,
    token_rate: Rate = DEFAULT_TOKEN_RATE,
    address_rate: Rate = DEFAULT_ADDRESS_RATE,
    clock: Callable[[], datetime] = _utc_now,
    monotonic: Callable[[], float] = time.monotonic,
) -> FastAPI:
    """The portal as an ASGI app. clock gives the wall time (tokens, receipts, late
    marking); monotonic drives the rate limits. Both are parameters so tests can replay a
    campaign day."""
    portal = Portal(
        engine,
        secret=secret,
        evidence_dir=evidence_dir,
        quarantine_dir=quarantine_dir,
        spool_dir=spool_dir,
        max_file_bytes=max_file_bytes,
        token_rate=token_rate,
        address_rate=address_rate,
        clock=clock,
        monotonic=monotonic,
    )
    _sweep_spool(spool_dir)
    css = (HERE / "static" / "portal.css").read_bytes()
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    app.state.portal = portal

    @app.get("/", response_class=HTMLResponse)
    def index(request: Request) -> HTMLResponse:
        return portal.page("index.html", request, title="材料报送")

    @app.get("/healthz", response_class=PlainTextResponse)
    def healthz() -> str:
        return "ok"

    @app.get("/static/portal.css")
    def stylesheet() -> Response:
        # A fixed name served from memory: no part of a URL is ever joined to a path.
        return Response(
            css, media_type="text/css", headers={"Cache-Control": "public, max-age=3600"}
        )

    @app.get("/u/{token}", response_class=HTMLResponse)
    def unit_page(request: Request, token: str) -> Response:
        visit = portal.admit(request, token)
        if not isinstance(visit, Visit):
            return visit
        return portal.unit_page(request, visit)

    @app.post("/u/{token}", response_class=HTMLResponse)
    async def upload(request: Request, token: str) -> Response:
        visit = await run_in_threadpool(portal.admit, request, token)
        if not isinstance(visit, Visit):
            return visit
        fp = visit.fp
        base = {"token": fp, "address": visit.address}
        declared = declared_too_large(request.headers.get("content-length"), max_file_bytes)
        if declared is not None:
            return await run_in_threadpool(
                portal.refuse,
                request,
                _too_large(declared, max_file_bytes),
                fp=fp,
                visit=visit,
                extra={**base, "declared": declared},
            )
        try:
            spooled = await read_upload(
                request.stream(),
                request.headers.get("content-type"),
                spool_dir=spool_dir,
                max_file_bytes=max_file_bytes,
            )
        except UploadTooLarge as exc:
            return await run_in_threadpool(
                portal.refuse,
                request,
                _too_large(exc.at_least, max_file_bytes),
                fp=fp,
                visit=visit,
                extra={**base, "received": exc.at_least},
            )
        except BadForm as exc:
            refusal = Refusal(400, "bad_form", "无法报送", exc.message, back=True)
            return await run_in_threadpool(
                portal.refuse, request, refusal, fp=fp, visit=visit, extra=base
            )
        except ClientDisconnect:
            await run_in_threadpool(
                portal.audit,
                "portal.refuse",
                campaign_id=visit.info.id,
                unit_code=visit.unit.code,
                after={**base, "reason": "client_disconnected", "status": 400},
            )
            return Response(status_code=400)
        try:
            return await run_in_threadpool(portal.take_upload, request, visit, spooled)
        finally:
            spooled.discard()

    async def not_found(request: Request, exc: StarletteHTTPException) -> Response:
        titles = {404: "页面不存在", 405: "不支持的操作"}
        refusal = Refusal(
            exc.status_code,
            "http",
            titles.get(exc.status_code, "无法处理"),
            "请通过通知中的个人专用链接打开报送页面。",
        )
        return portal.refusal_page(request, refusal)

    async def invalid(request: Request, exc: Exception) -> Response:
        refusal = Refusal(400, "bad_request", "无法处理", "请求格式不正确。")
        return portal.refusal_page(request, refusal)

    async def failed(request: Request, exc: Exception) -> Response:
        log.error("portal request failed: %s", type(exc).__name__)
        refusal = Refusal(500, "error", "系统繁忙", "暂时无法处理，请稍后再试。")
        return portal.refusal_page(request, refusal)

    handlers: dict[Any, Callable[[Request, Any], Awaitable[Response]]] = {
        StarletteHTTPException: not_found,
        RequestValidationError: invalid,
        Exception: failed,
    }
    for kind, handler in handlers.items():
        app.add_exception_handler(kind, handler)
    app.add_middleware(SecurityHeaders)
    return app


def _too_large(at_least: int, limit: int) -> Refusal:
    return Refusal(413, "too_large", "文件未被接收", too_large_message(at_least, limit), back=True)


def _sweep_spool(spool_dir: Path, older_than_s: float = 3600) -> None:
    """Remove uploads a crashed process left half-read."""
    if not spool_dir.is_dir():
        return
    cutoff = time.time() - older_than_s
    for entry in spool_dir.glob(".upload-*.part"):
        try:
            if entry.stat().st_mtime < cutoff:
                entry.unlink()
        except FileNotFoundError:
            continue


def required_secret(settings: Settings) -> str:
    """The signing secret, or PortalNotConfigured saying (in one line) what is wrong."""
    secret = secret_of(settings)
    if secret is None:
        raise PortalNotConfigured("未设置 PINGAN_PORTAL_SECRET（个人链接的签名密钥），门户未启动")
    if len(secret) < MIN_SECRET_LENGTH:
        raise PortalNotConfigured(
            f"PINGAN_PORTAL_SECRET 过短（至少 {MIN_SECRET_LENGTH} 个字符），门户未启动"
        )
    return secret


def app_from_settings(engine: Engine, settings: Settings, **overrides: Any) -> FastAPI:
    """The portal configured from PINGAN_* settings; PortalNotConfigured without a usable
    secret."""
    secret = required_secret(settings)
    options: dict[str, Any] = {
        "evidence_dir": settings.resolved_evidence_dir(),
        "quarantine_dir": settings.resolved_quarantine_dir(),
        "spool_dir": settings.home / "portal-spool",
        "max_file_bytes": settings.max_file_bytes,
        **overrides,
    }
    return create_app(engine, secret=secret, **options)

"""The submission portal: one page per unit, reached by its personal link, and its uploads.

Routes: ``GET /u/<token>`` shows what the unit owes; ``POST /u/<token>`` takes one file
(multipart, field ``file``, plus ``gate`` and an optional ``submitted_by``) through the
inbox's intake and answers with a receipt; ``/static/portal.css``; ``/healthz`` (answered
in front of the routes, pingan.portal.gate); the public certificate check ``/v``
(pingan.portal.verify), the leaders' read-only view ``/l/<token>`` (pingan.portal.leader)
and the SMS short links ``/k/<code>`` (pingan.portal.short).
Nothing
else: no directory listing, no API docs, and no part of any URL ever names a file.

Whose data a request reaches is decided by the verified token alone: the form names a
gate, never a unit, and the gate must be one the token's unit owes.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from pingan.portal.admission import Admission
from pingan.portal.config import PortalConfig
from pingan.portal.gate import UploadBound, UploadGate
from pingan.portal.headers import SecurityHeaders
from pingan.portal.leader import add_leader_routes
from pingan.portal.pages import Pages, add_fixed_routes
from pingan.portal.refusals import BUSY, add_error_pages, error_page, static_refusal
from pingan.portal.short import add_short_routes
from pingan.portal.signoff import add_signoff_routes
from pingan.portal.submission import Submission
from pingan.portal.uploads import sweep_spool
from pingan.portal.verify import add_verify_routes
from pingan.portal.visits import Visit, note_view, unit_items


@dataclass(frozen=True)
class Portal:
    """The parts of one portal app, as create_app puts them together."""

    engine: Engine
    config: PortalConfig
    pages: Pages
    admission: Admission
    submission: Submission

    @classmethod
    def build(cls, engine: Engine, config: PortalConfig) -> Portal:
        pages = Pages()
        admission = Admission(engine, config, pages)
        submission = Submission(engine, config, admission, pages)
        return cls(engine, config, pages, admission, submission)

    def unit_page(self, request: Request, visit: Visit) -> HTMLResponse:
        now = self.config.now()
        today = visit.info.local(now).date()
        with self.engine.connect() as conn:
            note_view(conn, visit, now)
            items = unit_items(conn, visit.info, visit.unit.id, today)
        return self.pages.unit(request, visit, items, today, self.config.max_file_bytes)


def create_app(engine: Engine, config: PortalConfig) -> FastAPI:
    """The portal as an ASGI app; PortalNotConfigured without a usable secret."""
    portal = Portal.build(engine, config)
    sweep_spool(config.spool_dir)
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    app.state.portal = portal
    add_fixed_routes(app, portal.pages)
    _add_unit_routes(app, portal)
    add_verify_routes(app, engine, portal.admission, portal.pages)
    add_leader_routes(app, engine, portal.admission, portal.pages)
    add_signoff_routes(app, portal.admission, portal.pages)
    add_short_routes(app, portal.admission)
    add_error_pages(app, portal.pages)
    app.add_middleware(
        UploadGate,
        bound=UploadBound(config.max_uploads, config.max_waiting_uploads, config.upload_wait_s),
        busy_page=static_refusal(portal.pages, BUSY, depth=1),
        retry_s=BUSY.retry_after or 1,
    )
    # Added last, so outermost: the gate's answers carry the headers too.
    app.add_middleware(
        SecurityHeaders, error_page=error_page(portal.pages), proxies=config.trusted_proxies
    )
    return app


def _add_unit_routes(app: FastAPI, portal: Portal) -> None:
    @app.get("/u/{token}", response_class=HTMLResponse)
    def unit_page(request: Request, token: str) -> Response:
        visit = portal.admission.admit(request, token)
        if not isinstance(visit, Visit):
            return visit
        return portal.unit_page(request, visit)

    @app.post("/u/{token}", response_class=HTMLResponse)
    async def upload(request: Request, token: str) -> Response:
        # At most config.max_uploads get here at once (pingan.portal.gate).
        visit = await run_in_threadpool(portal.admission.admit, request, token)
        if not isinstance(visit, Visit):
            return visit
        return await portal.submission.post(request, visit)

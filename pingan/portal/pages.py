"""The portal's HTML pages: the templates, the unit's page, the receipt, and the fixed routes
(index, stylesheet)."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape

from pingan.adapters.intake.collect import FileOutcome, allowed_types_label, size_label
from pingan.adapters.render.messages import cn_date, weekday
from pingan.portal.receipts import receipt_number
from pingan.portal.visits import ItemView, UploadTarget, Visit

HERE = Path(__file__).resolve().parent


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


class Pages:
    def __init__(self) -> None:
        self.templates = _template_env()

    def page(self, name: str, request: Request, status: int = 200, **context: Any) -> HTMLResponse:
        depth = max(0, request.url.path.count("/") - 1)
        html = self.templates.get_template(name).render(root="../" * depth, **context)
        return HTMLResponse(html, status_code=status)

    def unit(
        self,
        request: Request,
        visit: Visit,
        items: list[ItemView],
        today: date,
        max_file_bytes: int,
    ) -> HTMLResponse:
        """What the unit owes, with the upload form for each item it can send now."""
        return self.page(
            "unit.html",
            request,
            title=f"{visit.unit.name} · 材料报送",
            heading=visit.info.short,
            unit=visit.unit,
            items=items,
            today=today,
            allowed=allowed_types_label(),
            max_size=size_label(max_file_bytes),
            expires_at=visit.info.local(visit.claims.expires_at),
            office_name=visit.info.office_name,
            office_phone=visit.info.office_phone,
        )

    def receipt(
        self,
        request: Request,
        visit: Visit,
        item: UploadTarget,
        file_name: str,
        outcome: FileOutcome,
        received_at: datetime,
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
            received_at=visit.info.local(received_at),
            late=outcome.late and outcome.state == "accepted",
            office_name=visit.info.office_name,
            office_phone=visit.info.office_phone,
        )


def add_fixed_routes(app: FastAPI, pages: Pages) -> None:
    """The index page and the stylesheet (the health check is pingan.portal.gate's)."""
    css = (HERE / "static" / "portal.css").read_bytes()

    @app.get("/", response_class=HTMLResponse)
    def index(request: Request) -> HTMLResponse:
        return pages.page("index.html", request, title="材料报送")

    @app.get("/static/portal.css")
    def stylesheet() -> Response:
        # A fixed name served from memory: no part of a URL is ever joined to a path.
        return Response(
            css, media_type="text/css", headers={"Cache-Control": "public, max-age=3600"}
        )

"""Every way the portal says no: the refusals (status, audited code, Chinese text), their
page, and the pages for errors no route handled."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from pingan.adapters.intake.collect import size_label, too_large_message
from pingan.portal.pages import Pages
from pingan.portal.visits import CampaignInfo


@dataclass(frozen=True)
class Refusal:
    status: int
    code: str  # stable, English: audited
    title: str
    message: str
    hint: str | None = None
    back: bool = False  # the link itself is fine: offer the way back to the page
    retry_after: int | None = None


# --- the link ---------------------------------------------------------------------------

BAD_TOKEN = Refusal(
    403,
    "token_invalid",
    "链接无效",
    "此链接不完整、已被改动或已停用，无法打开。",
    "请从最近收到的通知中完整复制链接后重试。",
)
TOKEN_EXPIRED = Refusal(
    410,
    "token_expired",
    "链接已过期",
    "此链接已超过有效期，无法再使用。",
    "请使用最近一次通知中的链接。",
)
UNIT_GONE = Refusal(410, "unit_gone", "链接已失效", "此链接对应的创建活动或单位已不存在。")
TOKEN_REVOKED = Refusal(
    410,
    "token_revoked",
    "链接已作废",
    "此链接已被作废，可能已向贵单位发放了新的链接。",
    "请使用最近一次通知中的链接。",
)
UNIT_WITHDRAWN = Refusal(
    410,
    "unit_withdrawn",
    "单位已退出",
    "该单位已退出本次创建活动，不再接收报送材料。",
)


def rate_limited(retry_after_s: int) -> Refusal:
    return Refusal(
        429,
        "rate_limited",
        "操作过于频繁",
        f"请约 {retry_after_s} 秒后再试。",
        retry_after=retry_after_s,
    )


# --- the upload -------------------------------------------------------------------------

UNKNOWN_GATE = Refusal(400, "unknown_gate", "无法报送", "贵单位没有这一报送事项。", back=True)
NO_FILE = Refusal(400, "no_file", "未选择文件", "请先选择要上传的文件。", back=True)
# Skipped by intake: the spooled file could not be read back; nothing was recorded.
NOT_RECORDED = Refusal(
    503, "not_recorded", "上传未完成", "文件未能保存，请稍后重新上传。", back=True
)

DISK_FULL = Refusal(
    507,
    "disk_full",
    "暂时无法接收材料",
    "服务器存储空间已满，文件未能保存，也未作任何记录。",
    "请稍后重新上传；如仍不成功，请联系创建办。",
    back=True,
)
TIMED_OUT = Refusal(
    408, "timed_out", "上传中断", "上传过程中网络停顿时间过长，文件未被接收。", back=True
)
BUSY_RETRY_S = 5
BUSY = Refusal(
    503,
    "busy",
    "系统繁忙",
    f"当前同时上传材料的单位较多，请约 {BUSY_RETRY_S} 秒后重新上传。",
    back=True,
    retry_after=BUSY_RETRY_S,
)
QUOTA_LABELS = {"stored": "网上报送的材料", "quarantined": "未被接收的文件"}


def over_quota(which: str, limit: int) -> Refusal:
    """A unit's daily storage quota is spent: stored evidence, or refused files."""
    return Refusal(
        429,
        f"quota_{which}",
        "今日报送已达上限",
        f"贵单位今日{QUOTA_LABELS[which]}已达每日上限（{size_label(limit)}），本次文件未被接收。",
        "请于次日再报送；确有需要，请联系创建办。",
        back=True,
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


def too_large(at_least: int, limit: int) -> Refusal:
    return Refusal(413, "too_large", "文件未被接收", too_large_message(at_least, limit), back=True)


def bad_form(message: str) -> Refusal:
    return Refusal(400, "bad_form", "无法报送", message, back=True)


def rejected(reason_code: str, reason: str) -> Refusal:
    """Intake's rejection of the file, in its own words."""
    status = REJECTION_STATUS.get(reason_code, 422)
    return Refusal(status, reason_code, "文件未被接收", reason, back=True)


# --- the page ---------------------------------------------------------------------------


def refusal_page(
    pages: Pages, request: Request, refusal: Refusal, info: CampaignInfo | None = None
) -> HTMLResponse:
    response = pages.page(
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


FAILURES = {
    500: Refusal(500, "error", "系统繁忙", "暂时无法处理，请稍后再试。"),
    507: DISK_FULL,
    400: Refusal(400, "bad_request", "无法处理", "请求格式不正确。"),
}


def error_page(pages: Pages) -> Callable[[Request, int], Response]:
    """The page for a failure no route handled (500), a full disk (507), or a request the
    portal will not read (400); used by the outermost layer, so every one has the headers."""

    def page(request: Request, status: int) -> Response:
        return refusal_page(pages, request, FAILURES.get(status, FAILURES[500]))

    return page


def slash_redirect(app: FastAPI, request: Request) -> Response | None:
    """``/u/<token>/`` → ``../<token>``: relative, so neither the Host header nor any other
    part of the request chooses where the browser goes; only for paths a route serves."""
    path = request.url.path
    if path == "/" or not path.endswith("/"):
        return None
    trimmed = path.rstrip("/")
    scope = {**request.scope, "path": trimmed}
    if not any(route.matches(scope)[0] == Match.FULL for route in app.router.routes):
        return None
    last = trimmed.rsplit("/", 1)[-1]
    location = "../" + quote(last, safe="")
    if request.url.query:
        location += "?" + request.url.query
    return Response(status_code=307, headers={"Location": location})


def static_refusal(pages: Pages, refusal: Refusal, *, depth: int) -> bytes:
    """A refusal page rendered once, for a path depth levels below the root."""
    html = pages.templates.get_template("refusal.html").render(
        root="../" * depth,
        title=refusal.title,
        message=refusal.message,
        hint=refusal.hint,
        back=refusal.back,
    )
    return html.encode("utf-8")


def add_error_pages(app: FastAPI, pages: Pages) -> None:
    """Unknown paths and bad requests answer with the refusal page too (failures are the
    outermost layer's: pingan.portal.headers)."""
    app.router.redirect_slashes = False

    async def not_found(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 404:
            redirect = slash_redirect(app, request)
            if redirect is not None:
                return redirect
        titles = {404: "页面不存在", 405: "不支持的操作"}
        refusal = Refusal(
            exc.status_code,
            "http",
            titles.get(exc.status_code, "无法处理"),
            "请通过通知中的个人专用链接打开报送页面。",
        )
        return refusal_page(pages, request, refusal)

    async def invalid(request: Request, exc: Exception) -> Response:
        return refusal_page(pages, request, FAILURES[400])

    handlers: dict[Any, Callable[[Request, Any], Awaitable[Response]]] = {
        StarletteHTTPException: not_found,
        RequestValidationError: invalid,
    }
    for kind, handler in handlers.items():
        app.add_exception_handler(kind, handler)

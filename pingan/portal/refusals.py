"""Every way the portal says no: the refusals (status, audited code, Chinese text), their
page, and the pages for errors no route handled."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from pingan.adapters.intake.collect import too_large_message
from pingan.portal.pages import Pages
from pingan.portal.visits import CampaignInfo

# The name the portal has always logged its failures under.
log = logging.getLogger("pingan.portal.app")


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


def add_error_pages(app: FastAPI, pages: Pages) -> None:
    """Unknown paths, bad requests and failures answer with the refusal page too."""

    async def not_found(request: Request, exc: StarletteHTTPException) -> Response:
        titles = {404: "页面不存在", 405: "不支持的操作"}
        refusal = Refusal(
            exc.status_code,
            "http",
            titles.get(exc.status_code, "无法处理"),
            "请通过通知中的个人专用链接打开报送页面。",
        )
        return refusal_page(pages, request, refusal)

    async def invalid(request: Request, exc: Exception) -> Response:
        refusal = Refusal(400, "bad_request", "无法处理", "请求格式不正确。")
        return refusal_page(pages, request, refusal)

    async def failed(request: Request, exc: Exception) -> Response:
        log.error("portal request failed: %s", type(exc).__name__)
        refusal = Refusal(500, "error", "系统繁忙", "暂时无法处理，请稍后再试。")
        return refusal_page(pages, request, refusal)

    handlers: dict[Any, Callable[[Request, Any], Awaitable[Response]]] = {
        StarletteHTTPException: not_found,
        RequestValidationError: invalid,
        Exception: failed,
    }
    for kind, handler in handlers.items():
        app.add_exception_handler(kind, handler)

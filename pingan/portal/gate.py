"""In front of the routes, on the event loop and in plain ASGI (no routing, no templates per
request): the health check, and the bound on uploads taken at once.

During a burst the loop must stay free for the pages and the health check, so the uploads
beyond ``max_uploads`` are answered here with a page rendered once (503, Retry-After) after
reading at most a small part of their body, and never queue for the worker threads.
"""

from __future__ import annotations

import asyncio
import contextlib

from starlette.types import ASGIApp, Message, Receive, Scope, Send

HEALTH = b"ok"
# A refused upload's body is read (and dropped) up to this much and this long, so the
# sender is still listening when the answer comes rather than meeting a reset connection.
DRAIN_BYTES = 1024 * 1024
DRAIN_S = 5.0


class UploadGate:
    def __init__(self, app: ASGIApp, *, max_uploads: int, busy_page: bytes, retry_s: int) -> None:
        self.app = app
        self.max_uploads = max_uploads
        self.busy_page = busy_page
        self.retry_s = retry_s
        self.active = 0  # only touched on the event loop: no lock

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["path"] == "/healthz" and scope["method"] in ("GET", "HEAD"):
            await _answer(send, 200, b"text/plain; charset=utf-8", HEALTH, [])
            return
        if scope["method"] != "POST" or not scope["path"].startswith("/u/"):
            await self.app(scope, receive, send)
            return
        if self.active >= self.max_uploads:
            await _drain(receive)
            extra = [(b"retry-after", str(self.retry_s).encode()), (b"connection", b"close")]
            await _answer(send, 503, b"text/html; charset=utf-8", self.busy_page, extra)
            return
        self.active += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.active -= 1


async def _drain(receive: Receive) -> None:
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(DRAIN_S):
            drained = 0
            while drained <= DRAIN_BYTES:
                message: Message = await receive()
                if message["type"] != "http.request":
                    return
                drained += len(message.get("body", b""))
                if not message.get("more_body", False):
                    return


async def _answer(
    send: Send, status: int, content_type: bytes, body: bytes, extra: list[tuple[bytes, bytes]]
) -> None:
    headers = [
        (b"content-type", content_type),
        (b"content-length", str(len(body)).encode()),
        *extra,
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})

"""In front of the routes, on the event loop and in plain ASGI (no routing, no templates per
request): the health check, and the bound on uploads taken at once.

At most ``max_uploads`` uploads are read and taken at once. The next ``max_waiting`` wait
their turn, unread, for up to ``wait_s`` (a waiting upload costs neither a worker thread
nor the loop's time); beyond that, or after the wait, an upload is answered here with a
page rendered once (503, Retry-After) after reading at most a small part of its body. So a
burst never starves the worker threads, the pages or the health check.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass

from starlette.types import ASGIApp, Message, Receive, Scope, Send

HEALTH = b"ok"
# A refused upload's body is read (and dropped) up to this much and this long, so the
# sender is still listening when the answer comes rather than meeting a reset connection.
DRAIN_BYTES = 1024 * 1024
DRAIN_S = 5.0


@dataclass(frozen=True)
class UploadBound:
    max_uploads: int
    max_waiting: int
    wait_s: float


class UploadGate:
    def __init__(self, app: ASGIApp, *, bound: UploadBound, busy_page: bytes, retry_s: int) -> None:
        self.app = app
        self.bound = bound
        self.busy_page = busy_page
        self.retry_s = retry_s
        self.waiting = 0  # only touched on the event loop: no lock
        self._slots: tuple[asyncio.AbstractEventLoop, asyncio.Semaphore] | None = None

    def _semaphore(self) -> asyncio.Semaphore:
        """The slots of the running loop (a test may serve one app from several loops)."""
        loop = asyncio.get_running_loop()
        if self._slots is None or self._slots[0] is not loop:
            self._slots = (loop, asyncio.Semaphore(self.bound.max_uploads))
        return self._slots[1]

    async def _enter(self, slots: asyncio.Semaphore) -> bool:
        """Take a slot now, or wait for one if the queue has room; False when full."""
        if not slots.locked():
            await slots.acquire()
            return True
        if self.waiting >= self.bound.max_waiting:
            return False
        self.waiting += 1
        try:
            async with asyncio.timeout(self.bound.wait_s):
                await slots.acquire()
            return True
        except TimeoutError:
            return False
        finally:
            self.waiting -= 1

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
        slots = self._semaphore()
        if not await self._enter(slots):
            await _drain(receive)
            extra = [(b"retry-after", str(self.retry_s).encode()), (b"connection", b"close")]
            await _answer(send, 503, b"text/html; charset=utf-8", self.busy_page, extra)
            return
        try:
            await self.app(scope, receive, send)
        finally:
            slots.release()


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

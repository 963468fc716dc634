"""How the portal is served: uvicorn with server-side timeouts and a connection cap.

- A connection must finish sending its request headers within ``header_timeout_s`` (a
  slow-loris sender is cut off), and an idle keep-alive connection is closed after
  ``keep_alive_s``.
- At most ``max_connections`` connections and requests at once; beyond that uvicorn answers
  503 at once. Uploads have their own, smaller, bound (PortalConfig.max_uploads) so the
  health check and the pages still answer while the uploads are full.
- Request headers are bounded (``max_header_bytes``); forwarded headers are not read by
  uvicorn: the portal believes X-Forwarded-For only from PortalConfig.trusted_proxies.
"""

from __future__ import annotations

import asyncio
import socket
from dataclasses import dataclass
from typing import Any

import uvicorn
from fastapi import FastAPI
from uvicorn.protocols.http.h11_impl import H11Protocol


@dataclass(frozen=True)
class ServerLimits:
    keep_alive_s: int = 5
    header_timeout_s: float = 10.0
    # Above a burst of uploads (which PortalConfig.max_uploads answers with 503 and
    # Retry-After), so the health check and the pages still get through.
    max_connections: int = 1000
    backlog: int = 1024
    max_header_bytes: int = 16 * 1024
    graceful_shutdown_s: int = 10


class _HeaderDeadline(H11Protocol):
    """h11 with a deadline for the request line and headers of each request."""

    header_timeout_s = ServerLimits.header_timeout_s

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._deadline: asyncio.TimerHandle | None = None
        self._waiting_after: object = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def on_response_complete(self) -> None:
        # Armed first: a pipelined request that the call below starts counts as arrived.
        self._arm()
        super().on_response_complete()

    def _arm(self) -> None:
        self._disarm()
        # Which request the deadline waits after: a new one replaces self.cycle.
        self._waiting_after = self.cycle
        self._deadline = self.loop.call_later(self.header_timeout_s, self._expired)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expired(self) -> None:
        self._deadline = None
        if self.cycle is self._waiting_after and not self.transport.is_closing():
            self.transport.close()


def _protocol(header_timeout_s: float) -> type[H11Protocol]:
    return type("PortalH11Protocol", (_HeaderDeadline,), {"header_timeout_s": header_timeout_s})


def server_config(app: FastAPI, host: str, port: int, limits: ServerLimits) -> uvicorn.Config:
    """The uvicorn configuration the portal runs under (also used by tests and the bench)."""
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        http=_protocol(limits.header_timeout_s),
        lifespan="off",
        # Access logs would write every personal link (the token is in the path).
        access_log=False,
        log_level="warning",
        server_header=False,
        proxy_headers=False,
        timeout_keep_alive=limits.keep_alive_s,
        timeout_graceful_shutdown=limits.graceful_shutdown_s,
        limit_concurrency=limits.max_connections,
        backlog=limits.backlog,
        h11_max_incomplete_event_size=limits.max_header_bytes,
    )


def bind(host: str, port: int) -> socket.socket:
    """The listening socket, bound before anything says the portal started (OSError when
    the address is taken or not ours)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


def serve(app: FastAPI, sock: socket.socket, limits: ServerLimits | None = None) -> None:
    """Run the portal on a bound socket (see bind) until interrupted."""
    host, port = sock.getsockname()[:2]
    config = server_config(app, host, port, limits or ServerLimits())
    uvicorn.Server(config).run(sockets=[sock])

"""The outermost layer of the portal: every response, errors and failures included, carries
the security headers; a request whose framing is ambiguous is refused before any route sees
it; the client address comes from X-Forwarded-For only when a configured proxy sent it."""

from __future__ import annotations

import errno
import ipaddress
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

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
# Errors that mean the disk (or the user's quota on it) is full: 507, not 500.
DISK_FULL = frozenset({errno.ENOSPC, errno.EDQUOT})
MAX_FORWARDED_HOPS = 16

# The name the portal has always logged its failures under.
log = logging.getLogger("pingan.portal.app")

# The page for a failure no route handled: (request, HTTP status) -> the refusal page.
ErrorPage = Callable[[Request, int], Response]


def is_disk_full(exc: BaseException) -> bool:
    return isinstance(exc, OSError) and exc.errno in DISK_FULL


@dataclass(frozen=True)
class TrustedProxies:
    """The proxies whose X-Forwarded-For is believed; none by default, so a client cannot
    choose the address it is rate-limited and audited under."""

    networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()

    @classmethod
    def parse(cls, entries: Iterable[str]) -> TrustedProxies:
        """From addresses or networks ("10.0.0.1", "10.0.0.0/8"); ValueError on a bad one."""
        return cls(tuple(ipaddress.ip_network(e.strip(), strict=False) for e in entries if e))

    def trusts(self, host: str) -> bool:
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return False
        return any(address in network for network in self.networks)

    def client(self, peer: str, forwarded_for: str | None) -> str:
        """The address to rate-limit and audit: the peer, unless a trusted proxy sent the
        request; then the nearest address in X-Forwarded-For that is not a trusted proxy."""
        if not forwarded_for or not self.trusts(peer):
            return peer
        hops = [h.strip() for h in forwarded_for.split(",")][-MAX_FORWARDED_HOPS:]
        for hop in reversed(hops):
            if not _is_ip(hop):
                return peer  # a malformed chain names nobody: keep the proxy's own address
            if not self.trusts(hop):
                return hop
        return hops[0] if hops else peer


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _ambiguous_framing(scope: Scope) -> bool:
    """Both Content-Length and Transfer-Encoding, or either one twice: a front proxy may
    read the body's end differently (request smuggling)."""
    lengths = encodings = 0
    for name, _ in scope.get("headers", ()):
        if name == b"content-length":
            lengths += 1
        elif name == b"transfer-encoding":
            encodings += 1
    return (lengths and encodings) > 0 or lengths > 1 or encodings > 1


class SecurityHeaders:
    """Pure ASGI (no buffering of bodies). Adds the security headers to every response;
    answers a failure no route handled with the Chinese error page (507 when the disk is
    full), headers included; refuses ambiguous framing with 400; sets the client address
    from the trusted proxies."""

    def __init__(
        self, app: ASGIApp, *, error_page: ErrorPage, proxies: TrustedProxies | None = None
    ) -> None:
        self.app = app
        self.error_page = error_page
        self.proxies = proxies or TrustedProxies()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        self._set_client(scope)
        started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                add_security_headers(message)
            await send(message)

        if _ambiguous_framing(scope):
            response = self.error_page(Request(scope), 400)
            response.headers["Connection"] = "close"
            await response(scope, receive, send_with_headers)
            return
        try:
            await self.app(scope, receive, send_with_headers)
        except Exception as exc:
            if started:
                raise
            status = 507 if is_disk_full(exc) else 500
            log.error("portal request failed: %s", type(exc).__name__)
            await self.error_page(Request(scope), status)(scope, receive, send_with_headers)

    def _set_client(self, scope: Scope) -> None:
        client = scope.get("client")
        if not client or not self.proxies.networks:
            return
        forwarded = [v for n, v in scope.get("headers", ()) if n == b"x-forwarded-for"]
        host = self.proxies.client(client[0], b",".join(forwarded).decode("latin-1"))
        if host != client[0]:
            scope["client"] = (host, 0)


def add_security_headers(message: Message) -> None:
    headers = MutableHeaders(scope=message)
    for name, value in SECURITY_HEADERS:
        headers[name] = value
    if "cache-control" not in headers:
        # Pages show a unit's data: no shared or back-button cache keeps them.
        headers["Cache-Control"] = "no-store"

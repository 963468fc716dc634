"""An SMTP stand-in on aiosmtpd: records envelopes, counts connections, answers RCPT with
scripted replies (``rcpt_replies``: a queue of "550 5.1.1 …" / "451 4.3.0 …"), and can
require a login (``USER`` / ``PASSWORD``)."""

from __future__ import annotations

import socket
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP as SMTPServer
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session

USER = "robot"
PASSWORD = "PASS-SEKRIT-9/x?y"
SENDER = "noreply@xucheng.example.org"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class SmtpStandIn:
    auth: bool = False
    rcpt_replies: deque[str] = field(default_factory=deque)
    envelopes: list[Envelope] = field(default_factory=list)
    connections: int = 0
    controller: Controller | None = None

    async def handle_EHLO(
        self,
        server: SMTPServer,
        session: Session,
        envelope: Envelope,
        hostname: str,
        responses: list[str],
    ) -> list[str]:
        if session.host_name is None:  # the first EHLO of a connection
            self.connections += 1
        session.host_name = hostname
        return responses

    async def handle_RCPT(
        self,
        server: SMTPServer,
        session: Session,
        envelope: Envelope,
        address: str,
        options: list[str],
    ) -> str:
        if self.rcpt_replies:
            return self.rcpt_replies.popleft()
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTPServer, session: Session, envelope: Envelope) -> str:
        self.envelopes.append(envelope)
        return "250 OK"

    def start(self, port: int | None = None) -> SmtpStandIn:
        kwargs: dict[str, Any] = (
            {"authenticator": _authenticator, "auth_require_tls": False} if self.auth else {}
        )
        where = port or free_port()
        self.controller = Controller(self, hostname="127.0.0.1", port=where, **kwargs)
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def restart(self) -> None:
        """Drop every open connection (a server restart): clients must reconnect."""
        port = self.port
        self.stop()
        self.start(port)

    @property
    def port(self) -> int:
        assert self.controller is not None
        return int(self.controller.port)


def _authenticator(
    server: SMTPServer, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and (
        auth_data.login == USER.encode() and auth_data.password == PASSWORD.encode()
    )
    # handled=False: with the default (True) aiosmtpd sends no reply and the client hangs.
    return AuthResult(success=ok, handled=False)

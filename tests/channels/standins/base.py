"""A threaded HTTP server on 127.0.0.1 that records every request and answers from a
handler: the common part of the vendor stand-ins (one module per vendor)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8"))


# (status, JSON-able reply)
Answer = tuple[int, Any]


@dataclass
class HttpStandIn:
    """Serves ``answer(request)`` until ``stop``; ``requests`` holds every request seen."""

    answer: Callable[[Request], Answer]
    requests: list[Request] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> HttpStandIn:
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as the vendors' servers
            disable_nagle_algorithm = True  # headers and body are two writes

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
                request = Request(
                    self.command,
                    parts.path,
                    query,
                    {k.lower(): v for k, v in self.headers.items()},
                    body,
                )
                with stand_in._lock:
                    stand_in.requests.append(request)
                    status, reply = stand_in.answer(request)
                data = json.dumps(reply, ensure_ascii=False).encode("utf-8")
                self.send_response(status)
                # Exactly this: the Tencent SDK looks for errors only under "application/json".
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = _handle
            do_POST = _handle

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

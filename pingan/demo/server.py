"""The demo's temporary Prefect server, started before the campaign walk: a longer start-up
timeout than Prefect's 20 s (a loaded 2-core machine needs more), a fresh try when one fails,
and one Chinese line — no traceback — when every try has failed."""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager

STARTUP_TIMEOUT_S = 90
ATTEMPTS = 3
TIMEOUT_VARIABLE = "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"


class ServerUnavailable(Exception):
    def __init__(self, attempts: int, timeout_s: int) -> None:
        super().__init__(
            f"演示未能运行：临时 Prefect 服务器在 {attempts} 次尝试中（每次等待 {timeout_s} 秒）"
            "均未启动。请待机器空闲时重试，或先执行 prefect server start 并设置 PREFECT_API_URL"
        )


def startup_timeout_s() -> int:
    """The operator's PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS, else ours."""
    value = os.environ.get(TIMEOUT_VARIABLE, "").strip()
    return int(value) if value.isdigit() and int(value) > 0 else STARTUP_TIMEOUT_S


def ensure_prefect_server(
    on_retry: Callable[[int, int], None] = lambda attempt, attempts: None,
    attempts: int = ATTEMPTS,
) -> str:
    """The API URL flows will use: PREFECT_API_URL when set, else Prefect's temporary server,
    started here (it is one per process, so every later client reuses it)."""
    from prefect.settings import PREFECT_API_URL

    configured = PREFECT_API_URL.value()
    if configured:
        return str(configured)
    from prefect.server.api.server import SubprocessASGIServer

    timeout_s = startup_timeout_s()
    for attempt in range(1, attempts + 1):
        server = SubprocessASGIServer()
        try:
            with _children_write_to_a_log():
                server.start(timeout=timeout_s)
        except Exception:
            server.stop()  # kill a half-started process before the next try
            if attempt < attempts:
                on_retry(attempt, attempts)
            continue
        return server.api_url
    raise ServerUnavailable(attempts, timeout_s)


@contextmanager
def _children_write_to_a_log() -> Iterator[None]:
    """Processes started inside inherit a log file as stdout and stderr: the server's own
    start-up messages and tracebacks go there, never to the operator's terminal."""
    fd, _ = tempfile.mkstemp(prefix="pingan-prefect-server-", suffix=".log")
    sys.stdout.flush()
    sys.stderr.flush()
    saved = (os.dup(1), os.dup(2))
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    try:
        yield
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for copy in saved:
            os.close(copy)

"""Issue 17, finding 4: during a burst of 300 concurrent uploads on a real server, /healthz
keeps answering quickly; a few uploads are taken at once, some more wait their turn, the
rest are told to retry (503 with Retry-After), and every upload ends in a receipt or that
answer."""

from __future__ import annotations

import multiprocessing
import socket
import statistics
import time
from pathlib import Path
from typing import Any

import pytest

from pingan.portal.ratelimit import Rate
from tests.factories import Loaded, load_seed
from tests.portal.conftest import IN_SELF_CHECK, Clock, make_portal
from tests.robustness.test_portal_http import served

pytestmark = pytest.mark.slow

UPLOADS = 300
MAX_UPLOADS, MAX_WAITING = 4, 100
FILE_BYTES = 64 * 1024


@pytest.fixture
def seeded(engine: Any, tmp_path: Path) -> Loaded:
    return load_seed(engine, tmp_path, cells=4)


def burst(base: str, paths: list[str], count: int, out: Any) -> None:
    """In a child process (its own interpreter), so the client does not share the server's
    GIL: count uploads at once, each a distinct PDF; puts (status, Retry-After) pairs."""
    import asyncio

    import httpx

    async def main() -> list[tuple[Any, Any]]:
        limits = httpx.Limits(max_connections=count, max_keepalive_connections=0)
        async with httpx.AsyncClient(base_url=base, limits=limits, timeout=120) as client:

            async def one(i: int) -> tuple[Any, Any]:
                body = b"%PDF-1.4\n%" + str(i).encode() + b"\n" + b"0" * FILE_BYTES + b"\n%%EOF\n"
                try:
                    r = await client.post(
                        paths[i % len(paths)],
                        data={"gate": "self-check"},
                        files={"file": (f"自查报告{i}.pdf", body, "application/pdf")},
                    )
                except httpx.HTTPError as exc:
                    return type(exc).__name__, None
                return r.status_code, r.headers.get("retry-after")

            return await asyncio.gather(*(one(i) for i in range(count)))

    out.put(asyncio.run(main()))


def health_latency(address: tuple[str, int]) -> float:
    started = time.perf_counter()
    with socket.create_connection(address, timeout=30) as s:
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: portal\r\nConnection: close\r\n\r\n")
        answer = s.recv(1024)
    assert answer.startswith(b"HTTP/1.1 200"), answer[:60]
    return time.perf_counter() - started


def probe(address: tuple[str, int], stop: Any, out: Any) -> None:
    """In a child process too: what a monitor sees, a fresh connection every 20 ms."""
    latencies = []
    while not stop.is_set():
        latencies.append(health_latency(address))
        time.sleep(0.02)
    out.put(latencies)


def test_healthz_answers_quickly_while_300_uploads_arrive_at_once(
    seeded: Loaded, tmp_path: Path
) -> None:
    p = make_portal(
        seeded,
        tmp_path,
        Clock(IN_SELF_CHECK),
        max_bytes=1024 * 1024,
        token_rate=Rate(0, 0),
        address_rate=Rate(0, 0),
        max_uploads=MAX_UPLOADS,
        max_waiting_uploads=MAX_WAITING,
    )
    paths = [p.url(p.cell(i)) for i in range(4)]
    with served(p.app) as address:
        context = multiprocessing.get_context("spawn")
        results, health, stop = context.Queue(), context.Queue(), context.Event()
        prober = context.Process(target=probe, args=(address, stop, health))
        prober.start()
        time.sleep(1.0)  # the prober's interpreter starts
        base = f"http://{address[0]}:{address[1]}"
        child = context.Process(target=burst, args=(base, paths, UPLOADS, results))
        child.start()
        outcome: list[tuple[Any, Any]] = results.get(timeout=300)
        stop.set()
        latencies: list[float] = health.get(timeout=30)
        child.join(timeout=30)
        prober.join(timeout=30)

    statuses = [status for status, _ in outcome]
    assert set(statuses) <= {200, 503}, sorted(set(map(str, statuses)))
    assert statuses.count(200) >= MAX_UPLOADS
    assert statuses.count(503) >= UPLOADS - MAX_UPLOADS - MAX_WAITING
    assert all(retry for status, retry in outcome if status == 503)
    assert len(latencies) >= 5
    # The median is the figure of the issue (< 200 ms); the tail is looser because this
    # machine's two cores are shared with other suites. Before the bound it took 6-8 s.
    tail = sorted(latencies)
    assert statistics.median(tail) < 0.2, tail
    assert tail[int(len(tail) * 0.9)] < 0.5, tail[-10:]
    assert tail[-1] < 3.0, tail[-10:]


def test_an_upload_with_no_slot_and_no_room_to_wait_is_a_503_page_with_retry_after(
    seeded: Loaded, tmp_path: Path
) -> None:
    p = make_portal(seeded, tmp_path, Clock(IN_SELF_CHECK), max_uploads=0, max_waiting_uploads=0)
    with p.client:
        response = p.upload(p.url(p.cell()), b"%PDF-1.4\n%%EOF\n")
        health = p.client.get("/healthz")

    assert response.status_code == 503
    assert int(response.headers["retry-after"]) > 0
    assert "系统繁忙" in response.text
    assert "content-security-policy" in response.headers
    assert health.status_code == 200 and health.text == "ok"
    assert p.files(p.cell()) == []

"""Outputs reachable from the Prefect UI: the report flow copies its files to the storage
location given as a URL and links them over http(s), which a browser opens."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import date
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
from prefect.client.schemas.sorting import ArtifactSort

from flows.report import report
from pingan import root
from pingan.adapters.db.session import make_engine
from pingan.adapters.publish import OutputStore, publish
from pingan.services.load import load
from tests.factories import SEED_CONFIG, synth_roster


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """A storage directory served over http on 127.0.0.1, as nginx or MinIO would."""
    store = tmp_path / "store"
    store.mkdir()
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_Quiet, directory=str(store)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield store, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def link_artifacts(key: str) -> list[Any]:
    with get_client(sync_client=True) as client:
        return client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key])),
            sort=ArtifactSort.CREATED_DESC,
            limit=1,
        )


def test_publishing_to_a_served_location_links_each_file_over_http(
    served: tuple[Path, str], tmp_path: Path
) -> None:
    store, base = served
    report_file = tmp_path / "report-20170522.html"
    report_file.write_text("<h1>进展报告</h1>", encoding="utf-8")

    [done] = publish(OutputStore(store.as_uri(), base), [report_file], "xc/reports/2017-05-22")

    assert done.browsable and done.link == f"{base}/xc/reports/2017-05-22/report-20170522.html"
    assert httpx.get(done.link).text == "<h1>进展报告</h1>"


def test_a_store_that_neither_signs_nor_is_served_gives_no_link(tmp_path: Path) -> None:
    report_file = tmp_path / "r.html"
    report_file.write_text("x", encoding="utf-8")
    [done] = publish(OutputStore((tmp_path / "store").as_uri()), [report_file], "k")
    assert done.link is None and not done.browsable
    assert (tmp_path / "store" / "k" / "r.html").read_text(encoding="utf-8") == "x"


def test_the_report_flows_link_artifact_opens_the_report_in_a_browser(
    pingan_env: str, served: tuple[Path, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store, base = served
    engine = make_engine(pingan_env)
    load(engine, SEED_CONFIG, synth_roster(tmp_path, 12), actor="test")
    engine.dispose()
    monkeypatch.setenv("PINGAN_OUTPUT_URL", store.as_uri())
    monkeypatch.setenv("PINGAN_OUTPUT_PUBLIC_URL", base)
    root.reset()

    report(campaign="xucheng-2017", as_of=date(2017, 5, 22), out_dir=str(tmp_path / "out"))

    [artifact] = link_artifacts("xucheng-2017-report-link")
    # A link artifact is stored as markdown "[text](url)".
    url = str(artifact.data).split("](", 1)[1].rstrip(")")
    assert url.startswith(f"{base}/")
    page = httpx.get(url)
    assert page.status_code == 200
    assert "进展报告" in page.text

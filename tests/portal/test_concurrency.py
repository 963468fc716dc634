"""Uploads arriving at once on a real server: a double-tapped button records the file once,
and many units uploading together lose nothing."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from pingan.portal.ratelimit import Rate
from tests.factories import Loaded
from tests.portal._server import serving
from tests.portal.conftest import IN_SELF_CHECK, Clock, make_portal, pdf

pytestmark = pytest.mark.slow


def post(url: str, data: bytes, name: str = "自查报告.pdf") -> httpx.Response:
    return httpx.post(
        url,
        data={"gate": "self-check"},
        files={"file": (name, data, "application/pdf")},
        timeout=60,
    )


def test_the_same_file_sent_many_times_at_once_is_recorded_once(
    seeded: Loaded, tmp_path: Path
) -> None:
    p = make_portal(seeded, tmp_path, Clock(IN_SELF_CHECK))
    code = p.cell()
    with serving(p.app) as base, ThreadPoolExecutor(8) as pool:
        url = base + p.url(code)
        responses = list(pool.map(lambda _: post(url, pdf("连点八次")), range(8)))

    assert [r.status_code for r in responses] == [200] * 8
    assert sum("报送成功" in r.text for r in responses) == 1
    assert sum("此文件此前已收到" in r.text for r in responses) == 7
    assert len(p.files(code)) == 1
    states = sorted(e["state"] for e in p.audit("portal.upload"))
    assert states == ["accepted"] + ["duplicate"] * 7


def test_every_unit_uploading_at_once_is_recorded(seeded: Loaded, tmp_path: Path) -> None:
    p = make_portal(seeded, tmp_path, Clock(IN_SELF_CHECK), address_rate=Rate(0, 0))
    codes = [p.cell(i) for i in range(12)]
    with serving(p.app) as base, ThreadPoolExecutor(12) as pool:
        responses = list(pool.map(lambda c: post(base + p.url(c), pdf(f"{c} 的自查报告")), codes))

    assert [r.status_code for r in responses] == [200] * 12
    assert all(len(p.files(c)) == 1 for c in codes)
    assert len(p.audit("portal.upload")) == 12

"""Issue 17, finding 3: one valid link cannot fill the disk. Each unit has a daily quota of
stored bytes and of quarantined bytes (the campaign's local day); past it the portal refuses
with a Chinese page and stores nothing, and the next day the unit may upload again."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pingan.portal.quota import Quota
from pingan.portal.ratelimit import Rate
from tests.factories import Loaded, load_seed
from tests.portal.conftest import IN_SELF_CHECK, Clock, Portal, make_portal

KIB = 1024
STORED = 40 * KIB
QUARANTINED = 24 * KIB
UNLIMITED = Rate(0, 0)


@pytest.fixture
def seeded(engine: Any, tmp_path: Path) -> Loaded:
    return load_seed(engine, tmp_path, cells=4)


@pytest.fixture
def portal(seeded: Loaded, tmp_path: Path) -> Portal:
    return make_portal(
        seeded,
        tmp_path,
        Clock(IN_SELF_CHECK),
        quota=Quota(stored_bytes_per_day=STORED, quarantined_bytes_per_day=QUARANTINED),
        token_rate=UNLIMITED,
        address_rate=UNLIMITED,
    )


def valid(size: int, tag: str) -> bytes:
    head = b"%PDF-1.4\n%" + tag.encode() + b"\n"
    return head + b"0" * max(0, size - len(head) - 7) + b"\n%%EOF\n"


def invalid(size: int, tag: str) -> bytes:
    """Bytes of no allowed type: intake refuses them into quarantine."""
    return (b"MZ" + tag.encode() + b"\0" * size)[:size]


def bytes_under(folder: Path) -> int:
    if not folder.is_dir():
        return 0
    files = [f for f in folder.rglob("*") if f.is_file() and "reason" not in f.name]
    return sum(f.stat().st_size for f in files)


def stored_today(p: Portal, code: str, day: str) -> int:
    rows = p.seed.rows(
        "SELECT COALESCE(SUM(f.size), 0) AS n FROM submission_file f "
        "JOIN submission s ON s.id = f.submission_id "
        "JOIN obligation o ON o.id = f.obligation_id JOIN unit u ON u.id = o.unit_id "
        "WHERE u.code = :u AND s.received_on = :d AND s.source = 'portal'",
        u=code,
        d=day,
    )
    return int(rows[0].n)


def test_past_the_daily_stored_quota_uploads_are_refused_until_the_next_day(
    portal: Portal,
) -> None:
    code = portal.cell()
    url = portal.url(code)
    with portal.client:
        codes = [portal.upload(url, valid(15 * KIB, f"第{i}份")).status_code for i in range(3)]
        refused = portal.upload(url, valid(15 * KIB, "第四份"))
        portal.clock.now += timedelta(days=1)
        next_day = portal.upload(url, valid(15 * KIB, "次日"))

    assert codes == [200, 200, 429]
    assert refused.status_code == 429
    assert "今日报送已达上限" in refused.text and "40 KB" in refused.text
    assert next_day.status_code == 200
    assert len(portal.files(code)) == 3
    reasons = {e["reason"] for e in portal.audit("portal.refuse")}
    assert reasons == {"quota_stored"}


def test_past_the_daily_quarantine_quota_even_valid_files_wait_for_the_next_day(
    portal: Portal,
) -> None:
    code = portal.cell()
    url = portal.url(code)
    with portal.client:
        junk = [portal.upload(url, invalid(10 * KIB, str(i))).status_code for i in range(5)]
        good = portal.upload(url, valid(2 * KIB, "正常材料"))

    assert junk[:3] == [415, 415, 415]
    assert set(junk[3:]) == {429}
    assert good.status_code == 429
    assert bytes_under(portal.root / "quarantine") <= QUARANTINED + 10 * KIB
    assert portal.files(code) == []


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    uploads=st.lists(
        st.tuples(st.integers(1, 20 * KIB), st.booleans(), st.text(min_size=1, max_size=12)),
        min_size=1,
        max_size=10,
    )
)
def test_no_sequence_of_uploads_stores_or_quarantines_past_the_quota_in_a_day(
    portal: Portal, uploads: list[tuple[int, bool, str]]
) -> None:
    portal.clock.now += timedelta(days=1)  # each example is a fresh day for the unit
    day = portal.clock.now.date()
    code = portal.cell()
    url = portal.url(code)
    with portal.client:
        for size, ok, name in uploads:
            data = valid(size, name) if ok else invalid(size, name)
            response = portal.upload(url, data, name=f"{name}.pdf")
            assert response.status_code < 500

    assert stored_today(portal, code, day.isoformat()) <= STORED
    quarantined = bytes_under(portal.root / "quarantine" / f"{day:%Y%m%d}")
    assert quarantined <= QUARANTINED + 20 * KIB + 64

"""Times an operator reads in --json output are in the campaign's time zone, with the offset."""

from __future__ import annotations

from datetime import datetime

from pingan.adapters.outbox.report import DispatchReport
from pingan.services.links import LinkListing

SHANGHAI = "Asia/Shanghai"


def test_dispatch_json_gives_quiet_hours_end_in_local_time() -> None:
    report = DispatchReport(quiet_until=datetime(2017, 5, 15, 23, 52))  # naive UTC
    assert report.local_times(SHANGHAI) == {
        "quiet_until": "2017-05-16T07:52:00+08:00",
        "next_due_at": None,
    }


def test_links_json_gives_every_time_in_local_time() -> None:
    listing = LinkListing(
        code="X1",
        name="甲",
        kind="cell",
        status="active",
        version=2,
        revoked_at=datetime(2017, 5, 15, 23, 52),
        revoked_by="op",
        portal_uploads=0,
        last_upload_at=None,
        link=None,
        expires_at=datetime(2017, 6, 1, 0, 0),
    )
    doc = listing.as_json(SHANGHAI)
    assert doc["revoked_at"] == "2017-05-16T07:52:00+08:00"
    assert doc["expires_at"] == "2017-06-01T08:00:00+08:00"

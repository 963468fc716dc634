"""Operator-facing times are in the campaign's time zone, never UTC."""

from __future__ import annotations

from datetime import datetime

from pingan.adapters.outbox import DispatchReport


def test_the_dispatch_summary_says_when_quiet_hours_end_in_local_time() -> None:
    # 00:00 UTC is 08:00 in Shanghai, when the seed's quiet hours end.
    report = DispatchReport(deferred=3, quiet_until=datetime(2017, 5, 23, 0, 0))
    text = report.summary_zh("Asia/Shanghai")
    assert "05月23日 08:00 后发送" in text and "UTC" not in text

"""Operator-facing times are in the campaign's time zone, never UTC."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine

from pingan.adapters.outbox import DispatchReport


def test_the_dispatch_summary_says_when_quiet_hours_end_in_local_time() -> None:
    # 00:00 UTC is 08:00 in Shanghai, when the seed's quiet hours end.
    report = DispatchReport(deferred=3, quiet_until=datetime(2017, 5, 23, 0, 0))
    text = report.summary_zh("Asia/Shanghai")
    assert "05月23日 08:00 后发送" in text and "UTC" not in text


def test_the_links_table_gives_their_expiry_in_the_campaigns_time_zone(
    engine: Engine, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pingan import root
    from tests.factories import SEED_CODE, load_seed
    from tests.portal.test_cli import BASE, SECRET, cli

    monkeypatch.setenv("PINGAN_PORTAL_BASE_URL", BASE)
    monkeypatch.setenv("PINGAN_PORTAL_SECRET", SECRET)
    monkeypatch.setenv("COLUMNS", "200")
    root.reset()
    try:
        load_seed(engine, tmp_path, cells=6)
        result = cli("links", SEED_CODE, "--db", db_url)
    finally:
        root.reset()
    assert result.exit_code == 0, result.output
    assert "（Asia/Shanghai）" in result.output and " UTC" not in result.output

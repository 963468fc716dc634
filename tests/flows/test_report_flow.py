"""The report flow under a real (test) Prefect server."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
from prefect.client.schemas.sorting import ArtifactSort
from sqlalchemy import func, select

from flows.report import report
from pingan.adapters.db.notifications import NotificationRow
from pingan.adapters.db.session import make_engine
from pingan.core.campaign import load_campaign
from pingan.services.load import load
from pingan.services.synth import write_roster


def _load(db_url: str, config: Path, tmp_path: Path) -> None:
    roster = tmp_path / "roster.csv"
    write_roster(load_campaign(config), 40, 7, roster)
    engine = make_engine(db_url)
    load(engine, config, roster)
    engine.dispose()


def _latest_artifact(key: str) -> object:
    with get_client(sync_client=True) as client:
        # Newest first: the SQLite and PostgreSQL runs of a test share one Prefect server.
        found = client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key])),
            sort=ArtifactSort.CREATED_DESC,
            limit=1,
        )
    assert found, key
    return found[0].data


def _bulletins(db_url: str) -> int:
    engine = make_engine(db_url)
    with engine.connect() as conn:
        n = conn.scalar(
            select(func.count())
            .select_from(NotificationRow)
            .where(NotificationRow.kind == "bulletin")
        )
    engine.dispose()
    return int(n or 0)


def test_report_flow_writes_the_files_and_publishes_the_summary(
    pingan_env: str, seed_config: Path, tmp_path: Path
) -> None:
    _load(pingan_env, seed_config, tmp_path)
    out = tmp_path / "reports"
    result = report(campaign="xucheng-2017", as_of=date(2017, 5, 22), out_dir=str(out))
    assert Path(result.html) == out / "report-20170522.html"
    assert (out / "report-20170522.html").is_file() and (out / "report-20170522.xlsx").is_file()
    summary = str(_latest_artifact("xucheng-2017-report"))
    assert "徐城街道平安细胞创建工作进展报告" in summary and "report-20170522.xlsx" in summary
    # No storage location configured: no file:// link (no browser could open it), but a
    # note saying where the files are and how to publish them.
    where = str(_latest_artifact("xucheng-2017-report-link"))
    assert (out / "report-20170522.html").as_uri() in where
    assert "PINGAN_OUTPUT_URL" in where


def test_report_flow_sends_the_weeks_bulletin_once(
    pingan_env: str, seed_config: Path, tmp_path: Path
) -> None:
    _load(pingan_env, seed_config, tmp_path)
    first = report(campaign="xucheng-2017", as_of=date(2017, 5, 22), out_dir=str(tmp_path / "a"))
    again = report(campaign="xucheng-2017", as_of=date(2017, 5, 24), out_dir=str(tmp_path / "b"))
    # Four lead units and the coordinator, once in ISO week 2017-W21.
    assert first.bulletin is not None and again.bulletin is not None
    assert first.bulletin.model_dump() == {"week": "2017-W21", "recipients": 5, "planned": 5}
    assert again.bulletin.model_dump() == {"week": "2017-W21", "recipients": 5, "planned": 0}
    assert _bulletins(pingan_env) == 5


def test_report_flow_without_bulletin_plans_no_message(
    pingan_env: str, seed_config: Path, tmp_path: Path
) -> None:
    _load(pingan_env, seed_config, tmp_path)
    result = report(
        campaign="xucheng-2017", as_of=date(2017, 5, 22), out_dir=str(tmp_path), bulletin=False
    )
    assert result.bulletin is None and _bulletins(pingan_env) == 0

"""Reports and the weekly bulletin as plain functions over an engine; tasks and the CLI call
these. Gathering is one read-only transaction; the bulletin is planned in its own short one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from pingan.adapters.db.planner import BulletinPlan, plan_bulletin
from pingan.adapters.db.reporting import gather
from pingan.adapters.db.session import session_scope
from pingan.adapters.render.report import ReportData, ReportPaths, write_report
from pingan.adapters.render.report.summary import report_markdown
from pingan.services.tick import CampaignHandle, open_campaign, resolve_as_of


@dataclass(frozen=True)
class ReportRun:
    """What a report run produced: the files, and a short summary for the Prefect UI."""

    as_of: date
    paths: ReportPaths
    markdown: str
    red: int  # late, unsubmitted items
    coverage: float | None
    pass_rate: float | None  # None until some cell has been assessed


def local_now(handle: CampaignHandle) -> datetime:
    return datetime.now(ZoneInfo(handle.campaign.timezone)).replace(tzinfo=None)


def report_data(engine: Engine, handle: CampaignHandle, as_of: date) -> ReportData:
    with Session(engine) as session:
        data = gather(session, handle.campaign, handle.campaign_id, as_of, local_now(handle))
        session.rollback()  # read-only: end the transaction without writing anything
    return data


def run_report(
    engine: Engine,
    handle: CampaignHandle,
    as_of: date,
    out_dir: Path,
    font_path: Path | None = None,
) -> ReportRun:
    """The report files under ``out_dir``, charts drawn with the CJK font at ``font_path``
    (found on the system when None)."""
    data = report_data(engine, handle, as_of)
    paths = write_report(data, out_dir, font_path=font_path)
    return ReportRun(
        as_of=as_of,
        paths=paths,
        markdown=report_markdown(data, paths),
        red=len(data.late_submissions),
        coverage=data.overall.coverage,
        pass_rate=data.overall.pass_rate if data.overall.assessed else None,
    )


def build_report(
    engine: Engine, campaign_code: str, as_of: date | None, out_dir: Path
) -> ReportPaths:
    """The report of a campaign as loaded in the database, as of a date (default: today in
    the campaign's timezone), written to ``out_dir``."""
    handle = open_campaign(engine, campaign_code)
    return run_report(engine, handle, resolve_as_of(handle, as_of), out_dir).paths


def plan_weekly_bulletin(
    engine: Engine,
    handle: CampaignHandle,
    as_of: date,
    paths: ReportPaths,
    link: str | None = None,
) -> BulletinPlan:
    """Queue this week's bulletin to every lead unit and the coordinator (once per week)."""
    campaign = handle.campaign
    templates = Path(campaign.templates_dir) if campaign.templates_dir else None
    with session_scope(engine) as session:
        return plan_bulletin(
            session,
            campaign,
            handle.campaign_id,
            as_of,
            html=paths.html,
            xlsx=paths.xlsx,
            link=link,
            templates_dir=templates,
        )


__all__ = [
    "ReportRun",
    "build_report",
    "plan_weekly_bulletin",
    "report_data",
    "run_report",
]

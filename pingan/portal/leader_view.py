"""What a leader's live view shows, read in one session: KPIs per domain and per village
against the targets, red and yellow items with their ladder level and whether their last
message was seen, the trend since the campaign began, and what can be downloaded."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from itertools import islice
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from pingan.adapters.db.awarding import AwardLink, awards_in_force
from pingan.adapters.db.reporting import domain_reports
from pingan.adapters.db.reporting.leader import Scope, Trend, VillageKpi, trend, village_kpis
from pingan.adapters.db.status import status_counts
from pingan.adapters.db.status_items import ItemFilter, iter_items
from pingan.adapters.render.report.data import DomainReport
from pingan.core.campaign import artifact_slug

SHOWN_ITEMS = 30  # red and yellow items listed each; the counts say how many there are
SHOWN_AWARDS = 200
SEEN_LABELS = {True: "已读", False: "未读", None: "未知"}


@dataclass(frozen=True)
class LeaderView:
    scope: Scope
    domains: tuple[DomainReport, ...]
    villages: tuple[VillageKpi, ...]
    trend: Trend
    counts: dict[str, int]  # stored status -> items in scope
    red: tuple[dict[str, Any], ...]
    yellow: tuple[dict[str, Any], ...]
    awards: tuple[AwardLink, ...]
    awards_total: int
    reports: tuple[str, ...]  # "html", "xlsx": the latest report's formats on the server

    @property
    def targets(self) -> tuple[float, float]:
        t = self.scope.campaign.targets_for(self.scope.domain)
        return t.coverage, t.pass_rate


def _items(session: Session, scope: Scope, status: str, worst: bool) -> tuple[dict[str, Any], ...]:
    f = ItemFilter(domain=scope.domain, status=status)
    c, cid = scope.campaign, scope.campaign_id
    if worst:
        return tuple(iter_items(session, c, cid, f, worst=SHOWN_ITEMS))
    return tuple(islice(iter_items(session, c, cid, f), SHOWN_ITEMS))


def _counts(session: Session, scope: Scope) -> dict[str, int]:
    out: dict[str, int] = {}
    for key, by_status in status_counts(session, scope.campaign_id).items():
        if scope.domain is None or key == scope.domain:
            for status, n in by_status.items():
                out[status] = out.get(status, 0) + n
    return out


def latest_report(reports_dir: Path | None) -> dict[str, Path]:
    """{"html": path, "xlsx": path} of the newest report written by `pingan report` (the
    names are the report's date, so the newest sorts last)."""
    if reports_dir is None or not reports_dir.is_dir():
        return {}
    found: dict[str, Path] = {}
    for suffix in ("html", "xlsx"):
        paths = sorted(reports_dir.glob(f"report-[0-9]*.{suffix}"))
        if paths:
            found[suffix] = paths[-1]
    return found


def reports_dir(output_root: Path | None, campaign_code: str) -> Path | None:
    """Where `pingan report` writes (pingan.root.Container.reports_dir)."""
    return None if output_root is None else output_root / artifact_slug(campaign_code) / "reports"


def certificates_dir(output_root: Path | None, campaign_code: str) -> Path | None:
    """Where `pingan award` writes certificates (pingan.root.Container.output_dir)."""
    return None if output_root is None else output_root / campaign_code / "certificates"


def leader_view(engine: Engine, scope: Scope, output_root: Path | None) -> LeaderView:
    c, cid = scope.campaign, scope.campaign_id
    with Session(engine) as session:
        domains, _ = domain_reports(session, c, cid, scope.as_of)
        awards, awards_total = awards_in_force(
            session.connection(), cid, scope.domain, SHOWN_AWARDS
        )
        return LeaderView(
            scope=scope,
            domains=tuple(d for d in domains if scope.domain in (None, d.key)),
            villages=village_kpis(session, scope),
            trend=trend(session, scope),
            counts=_counts(session, scope),
            red=_items(session, scope, "overdue", worst=True),
            yellow=_items(session, scope, "due_soon", worst=False),
            awards=tuple(awards),
            awards_total=awards_total,
            reports=tuple(latest_report(reports_dir(output_root, c.code))),
        )


def as_of_day(today: date, scope_end: date) -> date:
    """The day the view speaks for: today, but never past the campaign's last day."""
    return min(today, scope_end)

"""Load a campaign file and an optional roster into the database, all or nothing."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from pingan.adapters.db.evaluate import replace_workdays, set_supervisors
from pingan.adapters.db.load import (
    LoadSummary,
    apply_roster,
    campaign_id_by_code,
    materialise_obligations,
    upsert_campaign,
)
from pingan.adapters.db.session import ensure_schema, session_scope
from pingan.adapters.db.units import UnitRow
from pingan.adapters.intake.roster import read_roster
from pingan.core.campaign import Campaign, load_campaign, working_calendar
from pingan.core.problems import InputError, Problem
from pingan.core.progress import Progress, nothing
from pingan.core.roster import RosterResult


@dataclass
class LoadResult:
    campaign: Campaign
    summary: LoadSummary
    roster: RosterResult | None
    obligations_created: int


LOAD_STEPS = 5


def load(
    engine: Engine,
    config: Path,
    roster: Path | None = None,
    *,
    skip_invalid: bool = False,
    actor: str = "cli",
    progress: Progress = nothing,
) -> LoadResult:
    """Steps reported to ``progress``: campaign, roster read, units written, obligations,
    working days."""
    campaign = load_campaign(config)
    ensure_schema(engine)
    with session_scope(engine) as session:
        progress(0, LOAD_STEPS)
        summary = upsert_campaign(session, campaign, actor)
        progress(1, LOAD_STEPS)
        result: RosterResult | None = None
        if roster is not None:
            result = read_roster(roster, campaign, known_villages=_villages(session, summary))
            progress(2, LOAD_STEPS)
            _apply(session, campaign, summary, result, skip_invalid=skip_invalid, actor=actor)
        progress(3, LOAD_STEPS)
        created = materialise_obligations(session, campaign, summary.campaign_id)
        set_supervisors(session, summary.campaign_id)
        progress(4, LOAD_STEPS)
        cal = working_calendar(campaign, config)
        replace_workdays(session, campaign, summary.campaign_id, cal)
    progress(LOAD_STEPS, LOAD_STEPS)
    return LoadResult(campaign, summary, result, created)


def _villages(session: Session, summary: LoadSummary) -> set[str]:
    """Codes of the villages already registered for the campaign."""
    return set(
        session.scalars(
            select(UnitRow.code).where(
                UnitRow.campaign_id == summary.campaign_id, UnitRow.kind == "village"
            )
        )
    )


def _apply(
    session: Session,
    campaign: Campaign,
    summary: LoadSummary,
    result: RosterResult,
    *,
    skip_invalid: bool,
    actor: str,
) -> None:
    """Write the roster's rows and record what changed in ``summary``."""
    # Problems not tied to a row (bad header, unreadable file) are never skippable.
    whole_file = len(result.problems) > 0 and not result.invalid_lines
    if result.problems and (not skip_invalid or whole_file or not result.rows):
        # Raising inside the transaction rolls back the campaign upsert too.
        raise InputError(result.problems)
    rs = apply_roster(
        session, campaign, summary.campaign_id, result.rows, actor, keep_codes=result.invalid_codes
    )
    if rs.added > 1000 and session.get_bind().dialect.name == "postgresql":
        # Fresh statistics, or the planner picks nested loops for the inserts below.
        session.execute(text("ANALYZE unit"))
        session.execute(text("ANALYZE contact"))
    for name in ("added", "changed", "withdrawn", "reactivated", "contacts_written"):
        setattr(summary, name, getattr(rs, name))
    summary.details = rs.details


def require_campaign_id(engine: Engine, code: str) -> int:
    ensure_schema(engine)
    with session_scope(engine) as session:
        cid = campaign_id_by_code(session, code)
    if cid is None:
        raise InputError(
            [
                Problem(
                    "参数",
                    "CAMPAIGN",
                    f"数据库中没有编码为 {code} 的创建活动，请先执行 pingan load",
                )
            ]
        )
    return cid

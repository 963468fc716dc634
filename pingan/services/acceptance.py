"""Acceptance: results per domain, the coordinator's sign-off, and on-site scoring.

Opens sessions and calls the set-based SQL in pingan.adapters.db.awarding (results, sign-off)
and pingan.adapters.db.assessing (scores). Prefect tasks and the CLI both call these functions.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from pingan.adapters.db.assessing import active_cells, store_scores
from pingan.adapters.db.awarding import acceptance_results, latest_signoff, record_signoff
from pingan.adapters.db.session import session_scope
from pingan.core.acceptance import AcceptanceResults, SignOff, SignOffRequest
from pingan.core.onsite import MAX_ONSITE_CELLS, onsite_rows
from pingan.core.problems import InputError, Problem
from pingan.core.scores import CellRef, acceptance_window
from pingan.core.scoring import check_sheet
from pingan.services.tick import CampaignHandle

# --- results and sign-off ------------------------------------------------------------------


def results(engine: Engine, handle: CampaignHandle, as_of: date) -> AcceptanceResults:
    with Session(engine) as session:
        return acceptance_results(session, handle.campaign, handle.campaign_id, as_of)


def current_signoff(engine: Engine, handle: CampaignHandle) -> SignOff | None:
    with Session(engine) as session:
        return latest_signoff(session, handle.campaign_id)


def sign_off(
    engine: Engine, handle: CampaignHandle, request: SignOffRequest, *, actor: str, source: str
) -> SignOff:
    with session_scope(engine) as session:
        return record_signoff(session, handle.campaign_id, request, actor=actor, source=source)


@dataclass(frozen=True)
class SignOffOutcome:
    """A sign-off recorded, or why it was not: a mistyped exclusion is an answer to show on
    the form, not a failure of the run."""

    signoff: SignOff | None
    problems: list[Problem]


def try_sign_off(
    engine: Engine, handle: CampaignHandle, request: SignOffRequest, *, actor: str, source: str
) -> SignOffOutcome:
    try:
        return SignOffOutcome(sign_off(engine, handle, request, actor=actor, source=source), [])
    except InputError as exc:
        return SignOffOutcome(None, list(exc.problems))


# --- on-site scoring -----------------------------------------------------------------------


def onsite_cells(engine: Engine, handle: CampaignHandle, codes: Sequence[str]) -> list[CellRef]:
    wanted = list(dict.fromkeys(c.strip() for c in codes if c.strip()))
    if len(wanted) > MAX_ONSITE_CELLS:
        raise InputError(
            [
                Problem(
                    "参数",
                    "onsite_cells",
                    f"现场评分一次最多 {MAX_ONSITE_CELLS} 个单位（收到 {len(wanted)} 个），"
                    "成批评分请用 pingan assess template/import",
                )
            ]
        )
    cells = active_cells(engine, handle.campaign_id)
    unknown = [c for c in wanted if c not in cells]
    if unknown:
        raise InputError(
            [Problem("参数", "onsite_cells", f"不是在册创建单位：{c}") for c in unknown]
        )
    return [cells[c] for c in wanted]


def try_store_onsite(
    engine: Engine,
    handle: CampaignHandle,
    cells: Sequence[CellRef],
    values: Mapping[str, Any],
    *,
    assessed_on: date,
    actor: str,
) -> dict[str, int] | list[Problem]:
    """The counts stored, or every problem of the form (out-of-range scores named by their
    criterion), so the flow can ask again."""
    try:
        return store_onsite(engine, handle, cells, values, assessed_on=assessed_on, actor=actor)
    except InputError as exc:
        return list(exc.problems)


def store_onsite(
    engine: Engine,
    handle: CampaignHandle,
    cells: Sequence[CellRef],
    values: Mapping[str, Any],
    *,
    assessed_on: date,
    actor: str,
) -> dict[str, int]:
    start, end = acceptance_window(handle.campaign)
    rows = onsite_rows(handle.campaign, cells, values, assessed_on)
    problems = [
        Problem("现场评分表", r.where, msg)
        for r in rows
        for msg in check_sheet(handle.campaign.domain(r.domain).rubric, r.sheet)
    ]
    if not start <= assessed_on <= end:
        problems.append(
            Problem(
                "现场评分表", "assessed_on", f"评分日期 {assessed_on} 不在验收期 {start}～{end} 内"
            )
        )
    if problems:
        raise InputError(problems)
    with session_scope(engine) as session:
        return store_scores(
            session,
            handle.campaign,
            handle.campaign_id,
            rows,
            source="ui",
            actor=actor,
            file_name="现场评分表",
        )


# --- score sheets ------------------------------------------------------------------------------


def import_score_sheet(
    engine: Engine,
    handle: CampaignHandle,
    path: Path,
    *,
    today: date,
    actor: str,
    warn: Callable[[Problem], None] | None = None,
) -> dict[str, int]:
    """The assessment team's filled sheet (a workbook or a text table): every row checked,
    nothing written unless all pass (InputError lists sheet, row and column); a failed cell
    scored again is a re-assessment (复查), earlier rounds kept. Columns read past (序号 …)
    go to ``warn``."""
    from pingan.adapters.intake.scores import read_scores

    result = read_scores(
        path,
        handle.campaign,
        active_cells(engine, handle.campaign_id),
        today=today,
        window=acceptance_window(handle.campaign),
    )
    if result.problems:
        raise InputError(result.problems)
    if warn is not None:
        for warning in result.warnings:
            warn(warning)
    with session_scope(engine) as session:
        return store_scores(
            session,
            handle.campaign,
            handle.campaign_id,
            result.rows,
            source="spreadsheet",
            actor=actor,
            file_name=str(path),
        )

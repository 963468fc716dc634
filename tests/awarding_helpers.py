"""Score cells of a loaded seed campaign directly, for the acceptance and award tests."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from sqlalchemy import Engine

from pingan.adapters.db.assessing import active_cells, store_scores
from pingan.adapters.db.session import session_scope
from pingan.core.scores import ScoreRow
from pingan.core.scoring import ScoreSheet
from pingan.services.tick import CampaignHandle

ASSESSED_ON = date(2017, 11, 15)


def sheet_for(handle: CampaignHandle, domain: str, outcome: str) -> ScoreSheet:
    rubric = handle.campaign.domain(domain).rubric
    full = {c.key: c.points for c in rubric.criteria}
    if outcome == "pass":
        return ScoreSheet(criteria=full)
    if outcome == "fail":
        return ScoreSheet(criteria={k: 0.0 for k in full})
    if outcome == "veto":
        return ScoreSheet(criteria=full, vetoes=frozenset({rubric.vetoes[0].key}))
    raise ValueError(outcome)


def score_cells(
    engine: Engine,
    handle: CampaignHandle,
    outcomes: Mapping[str, str],
    on: date = ASSESSED_ON,
) -> dict[str, int]:
    cells = active_cells(engine, handle.campaign_id)
    rows = [
        ScoreRow(
            cell=code,
            domain=cells[code].domain,
            sheet=sheet_for(handle, cells[code].domain, outcome),
            assessor="考核组",
            assessed_on=on,
            note=None,
            where=f"测试 {code}",
        )
        for code, outcome in outcomes.items()
    ]
    with session_scope(engine) as session:
        return store_scores(
            session,
            handle.campaign,
            handle.campaign_id,
            rows,
            source="test",
            actor="test",
            file_name="test",
        )


def cells_by_domain(engine: Engine, handle: CampaignHandle) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for c in sorted(active_cells(engine, handle.campaign_id).values(), key=lambda c: c.code):
        out.setdefault(c.domain, []).append(c.code)
    return out

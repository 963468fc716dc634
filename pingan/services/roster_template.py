"""`pingan roster template`: the roster template for a campaign, with the villages of its
loaded roster in the 所属村社区 drop-down when the database has them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, select

from pingan.adapters.db.load import campaign_id_by_code
from pingan.adapters.db.session import session_scope
from pingan.adapters.db.units import UnitRow
from pingan.adapters.intake.roster.template import write_roster_template
from pingan.core.campaign import Campaign, load_campaign


@dataclass(frozen=True)
class RosterTemplate:
    campaign: Campaign
    path: Path
    villages: int  # in the drop-down; 0 when the campaign's roster is not loaded


def roster_template(config: Path, out: Path, engine: Engine | None) -> RosterTemplate:
    campaign = load_campaign(config)
    villages = _villages(engine, campaign.code) if engine is not None else []
    write_roster_template(campaign, out, villages=villages)
    return RosterTemplate(campaign, out, len(villages))


def _villages(engine: Engine, code: str) -> list[tuple[str, str]]:
    with session_scope(engine) as session:
        cid = campaign_id_by_code(session, code)
        if cid is None:
            return []
        rows = session.execute(
            select(UnitRow.code, UnitRow.name)
            .where(
                UnitRow.campaign_id == cid,
                UnitRow.kind == "village",
                UnitRow.status == "active",
            )
            .order_by(UnitRow.code)
        )
        return [(c, n) for c, n in rows]

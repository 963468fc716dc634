"""Score values shared by the score sheet reader, the on-site form and score storage.

A ``CellRef`` is a cell as the roster knows it; a ``ScoreRow`` is one cell's checked
scores, ready to store. ``acceptance_window`` gives the dates within which an assessment
may fall.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from pingan.core.campaign import Campaign
from pingan.core.scoring import ScoreSheet


@dataclass(frozen=True)
class CellRef:
    """A cell (创建单位) as the caller's roster knows it."""

    code: str
    name: str
    domain: str  # domain key
    village: str | None


@dataclass(frozen=True)
class ScoreRow:
    cell: str
    domain: str
    sheet: ScoreSheet
    assessor: str | None
    assessed_on: date
    note: str | None
    where: str  # "工作表 平安校园 第 5 行", or "第 5 行" in a CSV


def acceptance_window(campaign: Campaign) -> tuple[date, date]:
    """The 考核验收 dates: the "acceptance" phase, else the assessment gate's phase."""
    keys = {p.key for p in campaign.phases}
    if "acceptance" in keys:
        phase = campaign.phase("acceptance")
        return phase.starts_on, phase.ends_on
    gate = next((g for g in campaign.gates if g.evidence == "assessment"), None)
    if gate is not None and gate.phase in keys:
        phase = campaign.phase(gate.phase)
        return phase.starts_on, phase.ends_on
    return campaign.starts_on, campaign.ends_on

"""The demo's simulated people: who sends which file when, and how the assessment goes.

Deterministic for a seed. Behaviour is plausible rather than uniform: most units send near
the deadline, about one in eight late, a few never; at acceptance a unit that kept up with
its paperwork usually passes, one that never sent its self-check often does not, one campus
is vetoed for a fire, and some failed cells pass on re-assessment (复查).
"""

from __future__ import annotations

import csv
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import Engine, select

from pingan.adapters.db.campaigns import GateRow
from pingan.adapters.db.obligations import ObligationRow
from pingan.adapters.db.units import UnitRow
from pingan.core.campaign import Campaign
from pingan.core.scores import CellRef


@dataclass(frozen=True)
class Drop:
    day: date
    kind: str
    unit: str
    name: str
    content: bytes


def _pdf(text: str) -> bytes:
    return f"%PDF-1.4\n% {text}\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n".encode()


def plan_drops(engine: Engine, campaign_id: int, seed: int) -> list[Drop]:
    """Who sends what when: ~82% on time, ~12% late, ~6% never; one malformed file."""
    rng = random.Random(seed)
    with engine.connect() as conn:
        rows = conn.execute(
            select(
                UnitRow.code,
                GateRow.deliverable,
                GateRow.name,
                ObligationRow.opens_on,
                ObligationRow.due_on,
            )
            .join(UnitRow, UnitRow.id == ObligationRow.unit_id)
            .join(GateRow, GateRow.id == ObligationRow.gate_id)
            .where(ObligationRow.campaign_id == campaign_id, GateRow.evidence == "files")
            .order_by(ObligationRow.id)
        ).all()
    drops = []
    for code, kind, gate_name, opens_on, due_on in rows:
        roll = rng.random()
        if roll < 0.06:
            continue
        if roll < 0.18:
            day = due_on + timedelta(days=rng.randint(1, 20))
        else:
            span = max((due_on - opens_on).days, 0)
            # Most people send near the deadline.
            day = due_on - timedelta(days=int(span * rng.random() ** 3))
        drops.append(Drop(day, kind, code, f"{gate_name[:10]}.pdf", _pdf(f"{code} {kind}")))
    if drops:
        bad = drops[len(drops) // 2]
        drops.append(Drop(bad.day, bad.kind, bad.unit, "照片.pdf", b"not really a pdf"))
    return drops


def self_check_punctuality(engine: Engine, campaign_id: int, gate_key: str) -> dict[str, str]:
    """cell code → "on_time" | "late" | "never", from the coverage gate's obligations."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(UnitRow.code, ObligationRow.done_on, ObligationRow.due_on)
            .join(UnitRow, UnitRow.id == ObligationRow.unit_id)
            .join(GateRow, GateRow.id == ObligationRow.gate_id)
            .where(ObligationRow.campaign_id == campaign_id, GateRow.key == gate_key)
        ).all()
    out = {}
    for code, done_on, due_on in rows:
        out[code] = "never" if done_on is None else ("on_time" if done_on <= due_on else "late")
    return out


PASS_CHANCE = {"on_time": 0.96, "late": 0.85, "never": 0.55}


@dataclass(frozen=True)
class Verdict:
    cell: CellRef
    outcome: str  # pass, fail, veto
    day: date


def plan_assessment(
    cells: Sequence[CellRef],
    punctuality: Mapping[str, str],
    days: Sequence[date],
    seed: int,
) -> list[Verdict]:
    rng = random.Random(seed * 7919 + 1)
    ordered = sorted(cells, key=lambda c: c.code)
    verdicts = []
    vetoed = False
    for cell in ordered:
        chance = PASS_CHANCE[punctuality.get(cell.code, "on_time")]
        outcome = "pass" if rng.random() < chance else "fail"
        if not vetoed and cell.domain == "campus" and outcome == "pass":
            outcome, vetoed = "veto", True  # the first campus that would pass had a fire
        verdicts.append(Verdict(cell, outcome, days[rng.randrange(len(days))]))
    return verdicts


def write_scores_csv(
    campaign: Campaign, verdicts: Sequence[Verdict], path: Path, assessor: str
) -> None:
    """A score sheet as the assessment team would fill it (machine-key CSV, all domains)."""
    keys: list[str] = []
    for d in campaign.domains:
        r = d.rubric
        for k in (
            *(f"c:{c.key}" for c in r.criteria),
            *(f"d:{x.key}" for x in r.deductions),
            *(f"v:{v.key}" for v in r.vetoes),
        ):
            if k not in keys:
                keys.append(k)
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["domain", "code", *keys, "assessor", "assessed_on"])
        for v in verdicts:
            r = campaign.domain(v.cell.domain).rubric
            # A failing sheet lands under the pass mark by missing points, not by luck.
            share = 1.0 if v.outcome != "fail" else 0.5
            own: dict[str, object] = {f"c:{c.key}": round(c.points * share, 1) for c in r.criteria}
            own |= {f"d:{x.key}": 0 for x in r.deductions}
            own |= {f"v:{x.key}": "否" for x in r.vetoes}
            if v.outcome == "veto" and r.vetoes:
                own[f"v:{r.vetoes[0].key}"] = "是"
            w.writerow(
                [v.cell.domain, v.cell.code, *(own.get(k, "") for k in keys), assessor, v.day]
            )


def reassessed(verdicts: Sequence[Verdict], seed: int, day: date) -> list[Verdict]:
    """About half of the failed (not vetoed) cells fix their problems and pass 复查."""
    rng = random.Random(seed * 104729 + 3)
    return [
        Verdict(v.cell, "pass", day) for v in verdicts if v.outcome == "fail" and rng.random() < 0.5
    ]

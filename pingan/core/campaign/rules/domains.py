"""Each domain names defined units, and its rubric adds up."""

from __future__ import annotations

from pingan.core.campaign.model import Campaign, Rubric
from pingan.core.campaign.rules.common import Findings, duplicates


def domains(c: Campaign) -> Findings:
    known_units = {c.coordinator.code} | {u.code for u in c.units}
    for i, d in enumerate(c.domains):
        where = f"domains[{i}]"
        if d.lead not in known_units:
            yield f"{where}.lead", f"牵头单位 {d.lead} 未在 units 中定义"
        for j, p in enumerate(d.participants):
            if p not in known_units:
                yield f"{where}.participants[{j}]", f"参与单位 {p} 未在 units 中定义"
            if p == d.lead:
                yield f"{where}.participants[{j}]", f"{p} 已是牵头单位，不应同时列为参与单位"
        yield from rubric(d.rubric, f"{where}.rubric")


def rubric(r: Rubric, where: str) -> Findings:
    points = sum(c.points for c in r.criteria)
    if abs(points - r.total) > 1e-9:
        yield f"{where}.criteria", f"各项分值合计 {points:g} 与总分 {r.total:g} 不符"
    if r.pass_mark > r.total:
        yield f"{where}.pass_mark", f"达标分 {r.pass_mark:g} 高于总分 {r.total:g}"
    keys = [c.key for c in r.criteria] + [d.key for d in r.deductions] + [v.key for v in r.vetoes]
    for dup in duplicates(keys):
        yield where, f"评分项键 {dup} 重复"
    for i, d in enumerate(r.deductions):
        if d.max_points > r.total:
            yield f"{where}.deductions[{i}].max_points", "扣分上限高于总分"

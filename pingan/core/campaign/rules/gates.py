"""Each gate lies inside its phase, names real domains and a sensible owner; no two file
gates share a deliverable (the inbox folder decides which gate a file belongs to)."""

from __future__ import annotations

from pingan.core.campaign.model import Campaign, Gate, Phase
from pingan.core.campaign.rules.common import Findings, duplicates


def gates(c: Campaign) -> Findings:
    phase_by_key = {p.key: p for p in c.phases}
    domain_keys = {d.key for d in c.domains}
    for i, g in enumerate(c.gates):
        where = f"gates[{i}]"
        phase = phase_by_key.get(g.phase)
        if phase is None:
            yield f"{where}.phase", f"阶段 {g.phase} 不存在"
        else:
            yield from _dates(g, phase, where)
        for j, dk in enumerate(g.domains or []):
            if dk not in domain_keys:
                yield f"{where}.domains[{j}]", f"领域 {dk} 不存在"
        yield from _owners(g, where)
        yield from _categories(c, g, where)


def _categories(c: Campaign, g: Gate, where: str) -> Findings:
    if g.categories is None:
        return
    if "cells" not in g.owed_by:
        yield f"{where}.categories", "只有 cells(创建单位)可按类别筛选"
    domains = [d for d in c.domains if g.domains is None or d.key in g.domains]
    known = {cat for d in domains for cat in d.cell_categories}
    for j, cat in enumerate(g.categories):
        if cat not in known:
            yield (
                f"{where}.categories[{j}]",
                f"类别“{cat}”不在{'所选领域' if g.domains else '任何领域'}的 cell_categories 中",
            )


def _dates(g: Gate, phase: Phase, where: str) -> Findings:
    opens = g.opens_on or phase.starts_on
    if not phase.starts_on <= opens <= phase.ends_on:
        yield f"{where}.opens_on", f"开始日期 {opens} 不在阶段 {phase.key} 的日期范围内"
    if not phase.starts_on <= g.due_on <= phase.ends_on:
        yield (
            f"{where}.due_on",
            f"截止日期 {g.due_on} 不在阶段 {phase.key}({phase.starts_on} 至 {phase.ends_on})内",
        )
    if g.due_on < opens:
        yield f"{where}.due_on", f"截止日期 {g.due_on} 早于开始日期 {opens}"


def _owners(g: Gate, where: str) -> Findings:
    if g.domains is not None and not set(g.owed_by) & {"cells", "lead_units", "participants"}:
        yield f"{where}.domains", "只有 cells、lead_units、participants 可按领域筛选"
    for dup in duplicates(list(g.owed_by)):
        yield f"{where}.owed_by", f"{dup} 重复"
    if g.evidence == "assessment" and g.owed_by != ["cells"]:
        yield f"{where}.evidence", "考核验收类事项只能由 cells(创建单位)承担"


def deliverables(c: Campaign) -> Findings:
    for dup in duplicates(g.deliverable for g in c.gates if g.evidence == "files"):
        yield (
            "gates",
            f"材料类别 {dup} 被多个报送事项使用；收取材料时无法判断归属，请改用不同的类别",
        )

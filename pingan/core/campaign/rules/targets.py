"""The targets are rates (the campaign's and each domain's own), and coverage is counted on
a gate the cells owe."""

from __future__ import annotations

from pingan.core.campaign.model import Campaign
from pingan.core.campaign.rules.common import Findings

_LABELS = {"coverage": "覆盖率", "pass_rate": "达标率"}


def rates(c: Campaign) -> Findings:
    for field, label in _LABELS.items():
        value = getattr(c.targets, field)
        if not 0 <= value <= 1:
            yield f"targets.{field}", f"{label}目标须在 0 到 1 之间（当前值：{value}）"
    for i, d in enumerate(c.domains):
        for field, label in _LABELS.items():
            value = getattr(d.targets, field) if d.targets else None
            if value is not None and not 0 <= value <= 1:
                yield (
                    f"domains[{i}].targets.{field}",
                    f"领域 {d.key} 的{label}目标须在 0 到 1 之间（当前值：{value}）",
                )


def coverage_gate(c: Campaign) -> Findings:
    if c.targets.coverage_gate not in {g.key for g in c.gates}:
        yield "targets.coverage_gate", f"事项 {c.targets.coverage_gate} 不存在"
    elif "cells" not in c.gate(c.targets.coverage_gate).owed_by:
        yield "targets.coverage_gate", "用于计算覆盖率的事项必须由 cells(创建单位)承担"

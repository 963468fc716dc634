"""The targets are rates, and coverage is counted on a gate the cells owe."""

from __future__ import annotations

from pingan.core.campaign.model import Campaign
from pingan.core.campaign.rules.common import Findings


def rates(c: Campaign) -> Findings:
    if not 0 <= c.targets.coverage <= 1:
        yield "targets.coverage", f"覆盖率目标须在 0 到 1 之间（当前值：{c.targets.coverage}）"
    if not 0 <= c.targets.pass_rate <= 1:
        yield "targets.pass_rate", f"达标率目标须在 0 到 1 之间（当前值：{c.targets.pass_rate}）"


def coverage_gate(c: Campaign) -> Findings:
    if c.targets.coverage_gate not in {g.key for g in c.gates}:
        yield "targets.coverage_gate", f"事项 {c.targets.coverage_gate} 不存在"
    elif "cells" not in c.gate(c.targets.coverage_gate).owed_by:
        yield "targets.coverage_gate", "用于计算覆盖率的事项必须由 cells(创建单位)承担"

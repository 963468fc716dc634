"""Phases run forwards and follow each other without overlap or gap."""

from __future__ import annotations

from itertools import pairwise

from pingan.core.campaign.model import Campaign
from pingan.core.campaign.rules.common import Findings


def phases(c: Campaign) -> Findings:
    for i, ph in enumerate(c.phases):
        if ph.ends_on < ph.starts_on:
            yield f"phases[{i}]", f"阶段 {ph.key} 结束日期 {ph.ends_on} 早于开始日期 {ph.starts_on}"
    in_order = sorted(enumerate(c.phases), key=lambda ip: ip[1].starts_on)
    for (_, a), (j, b) in pairwise(in_order):
        if b.starts_on <= a.ends_on:
            yield f"phases[{j}]", f"阶段 {b.key} 与阶段 {a.key} 日期重叠"
        elif (b.starts_on - a.ends_on).days > 1:
            yield (
                f"phases[{j}]",
                f"阶段 {a.key}({a.ends_on} 结束)与阶段 {b.key}({b.starts_on} 开始)之间有空档",
            )

"""Phases run forwards; they may leave gaps between them (a weekend, a holiday), but overlap
only where the plan says so (``overlap_allowed`` on either phase)."""

from __future__ import annotations

from itertools import combinations

from pingan.core.campaign.model import Campaign
from pingan.core.campaign.rules.common import Findings


def phases(c: Campaign) -> Findings:
    for i, ph in enumerate(c.phases):
        if ph.ends_on < ph.starts_on:
            yield f"phases[{i}]", f"阶段 {ph.key} 结束日期 {ph.ends_on} 早于开始日期 {ph.starts_on}"
    for (_, a), (j, b) in combinations(enumerate(c.phases), 2):
        if a.overlap_allowed or b.overlap_allowed:
            continue
        if a.starts_on <= b.ends_on and b.starts_on <= a.ends_on:
            yield (
                f"phases[{j}]",
                f"阶段 {b.key}({b.starts_on} 至 {b.ends_on})与阶段 {a.key}"
                f"({a.starts_on} 至 {a.ends_on})日期重叠；方案允许并行的，"
                "请在其中一个阶段写 overlap_allowed: true",
            )

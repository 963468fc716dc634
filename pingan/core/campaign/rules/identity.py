"""The time zone exists; codes, keys and domain names are unique."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pingan.core.campaign.model import Campaign
from pingan.core.campaign.rules.common import Findings, duplicates


def timezone(c: Campaign) -> Findings:
    try:
        ZoneInfo(c.timezone)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        yield "timezone", f"未知时区 {c.timezone!r}（应为 IANA 名称，如 Asia/Shanghai）"


def unique(c: Campaign) -> Findings:
    for dup in duplicates([c.coordinator.code] + [u.code for u in c.units]):
        yield "units", f"单位编码 {dup} 重复"
    for label, values in (
        ("domains", [d.key for d in c.domains]),
        ("phases", [p.key for p in c.phases]),
        ("gates", [g.key for g in c.gates]),
    ):
        for dup in duplicates(values):
            yield label, f"键 {dup} 重复"
    for dup in duplicates([d.name for d in c.domains]):
        yield "domains", f"领域名称 {dup} 重复"

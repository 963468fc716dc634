"""The entries of the public list, grouped into the sections both files show."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

REVOKED_HEADING = "已撤销命名"
DEFAULT_GROUPING = "村（社区）"  # the column of the cell's grouping; the campaign names it


@dataclass(frozen=True)
class PublicListEntry:
    """One named cell as published; `domain` is the domain's title (平安校园 …)."""

    domain: str
    number: str
    cell_name: str
    cell_code: str
    village: str | None
    lead_unit: str
    issued_on: date
    revoked: bool = False
    revoked_reason: str | None = None


@dataclass(frozen=True)
class Section:
    heading: str  # 一、平安校园
    note: str  # （共 12 个，牵头单位：区教育局）
    # Header and the most a column may take (points); 0 = share what the others leave.
    columns: tuple[tuple[str, float], ...]
    rows: tuple[tuple[str, ...], ...]


def sections(entries: Sequence[PublicListEntry], grouping: str = DEFAULT_GROUPING) -> list[Section]:
    groups: dict[str, list[PublicListEntry]] = {}
    revoked: list[PublicListEntry] = []
    for e in entries:
        if e.revoked:
            revoked.append(e)
        else:
            groups.setdefault(e.domain, []).append(e)
    out = [
        _domain_section(i, domain, members, grouping)
        for i, (domain, members) in enumerate(groups.items(), start=1)
    ]
    if revoked:
        out.append(_revoked_section(len(out) + 1, revoked))
    return out


def _domain_section(i: int, domain: str, members: list[PublicListEntry], grouping: str) -> Section:
    leads = list(dict.fromkeys(e.lead_unit for e in members))
    # One lead unit per domain is the rule; it goes in the heading rather than 90,000 rows.
    per_row_lead = len(leads) > 1
    cols: list[tuple[str, float]] = [("序号", 48), ("命名编号", 170), ("单位名称", 0)]
    cols += [(grouping, 90), ("单位编码", 90)]
    if per_row_lead:
        cols.append(("牵头单位", 90))
    cols.append(("命名日期", 70))
    rows = []
    for n, e in enumerate(members, start=1):
        row = [str(n), e.number, e.cell_name, e.village or "—", e.cell_code]
        if per_row_lead:
            row.append(e.lead_unit)
        row.append(e.issued_on.isoformat())
        rows.append(tuple(row))
    note = f"（共 {len(members)} 个" + ("）" if per_row_lead else f"，牵头单位：{leads[0]}）")
    return Section(f"{_ordinal(i)}、{domain}", note, tuple(cols), tuple(rows))


def _revoked_section(i: int, revoked: list[PublicListEntry]) -> Section:
    cols = [("序号", 48), ("命名编号", 170), ("单位名称", 0), ("领域", 70), ("撤销原因", 0)]
    rows = [
        (str(n), e.number, e.cell_name, e.domain, e.revoked_reason or "—")
        for n, e in enumerate(revoked, start=1)
    ]
    heading = f"{_ordinal(i)}、{REVOKED_HEADING}"
    note = f"（共 {len(revoked)} 个，原证书作废）"
    return Section(heading, note, tuple(cols), tuple(rows))


def _ordinal(n: int) -> str:
    digits = "〇一二三四五六七八九"
    if n < 10:
        return digits[n]
    tens, ones = divmod(n, 10)
    return ("" if tens == 1 else digits[tens]) + "十" + (digits[ones] if ones else "")

"""The codes met so far in a roster: duplicates, the campaign's own units, village references."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Collection, Iterable
from itertools import compress
from operator import attrgetter

from pingan.adapters.intake.roster.columns import KIND_LABELS
from pingan.adapters.intake.roster.rules import quote
from pingan.core.campaign import Campaign
from pingan.core.roster import Kind, RosterRow


class Codes:
    """Every code registered so far, and the villages cells refer to.

    Codes compare case-insensitively for clashes: inbox folders are named by code and a
    Windows share would merge "ABC" and "abc" into one folder.
    """

    def __init__(
        self, campaign: Campaign, known_villages: Collection[str], rows: list[RosterRow]
    ) -> None:
        named = [(campaign.coordinator.code, campaign.coordinator.name)]
        named += [(u.code, u.name) for u in campaign.units]
        self.units: dict[str, tuple[str, str]] = {code.lower(): (code, n) for code, n in named}
        self.known_villages = set(known_villages)
        # The screened rows, in line order (the list is filled by the checker).
        self.rows = rows
        # Flat dicts and parallel lists rather than a tuple per row: fewer allocations
        # and far less memory on a million-row roster.
        self.seen: dict[str, int] = {}  # lower-cased code -> line of its first occurrence
        # Code and kind of the lines the row check registered in seen; those the screen
        # registered are found in self.rows (see registered()).
        self.code_at: dict[int, str] = {}
        self.kind_at: dict[int, Kind | None] = {}
        self.villages: dict[str, int] = {}
        self.pending_lines: list[int] = []  # cells whose village is checked in unresolved()
        self.pending_villages: list[str] = []

    def taken(self, lowered: list[str]) -> Iterable[int]:
        """Positions of lower-cased codes already registered or used by a campaign unit."""
        for taken in (self.seen, self.units):
            if not taken.keys().isdisjoint(lowered):
                yield from (k for k, c in enumerate(lowered) if c in taken)

    def register(
        self,
        lines: list[int],
        codes: list[str],
        lowered: list[str],
        kinds: list[Kind | None],
        villages: list[str],
    ) -> None:
        """Register screened rows, all with fresh codes."""
        self.seen.update(zip(lowered, lines, strict=True))
        is_cell = list(map("cell".__eq__, kinds))
        self.pending_lines.extend(compress(lines, is_cell))
        self.pending_villages.extend(compress(villages, is_cell))
        if not all(is_cell):
            for line, code, kind in zip(lines, codes, kinds, strict=True):
                if kind == "village":
                    self.villages[code] = line

    def pending(self, line: int, village: str) -> None:
        """A cell's village, checked once every row is in (unresolved())."""
        self.pending_lines.append(line)
        self.pending_villages.append(village)

    def check(self, line: int, code: str, kind: Kind | None) -> list[str]:
        """Register a well-formed code from the row check; the problems with it."""
        problems: list[str] = []
        lower = code.lower()
        first = self.seen.get(lower)
        if first is not None:
            earlier, _ = self.registered(first)
            same = "" if earlier == code else f"（{quote(earlier)}，编码不区分大小写）"
            problems.append(f"编码 {quote(code)} 与第 {first} 行重复{same}")
        else:
            self.seen[lower] = line
            self.code_at[line] = code
            self.kind_at[line] = kind
            if kind == "village":
                self.villages[code] = line
        unit = self.units.get(lower)
        if kind == "unit":
            if unit is None:
                problems.append(
                    f"单位编码 {quote(code)} 未在活动方案中定义；"
                    "单位行只能为方案中已有的单位补充联系方式"
                )
            elif unit[0] != code:
                problems.append(
                    f"单位编码 {quote(code)} 与活动方案中的 {quote(unit[0])} 大小写不一致"
                )
        elif kind is not None and unit is not None:
            problems.append(
                f"编码 {quote(code)} 已是活动方案中单位（{unit[1]}）的编码，"
                f"{KIND_LABELS[kind]}须另取编码"
            )
        return problems

    def registered(self, line: int) -> tuple[str, Kind | None]:
        """Code and kind of a line whose code is in self.seen."""
        if line in self.code_at:
            return self.code_at[line], self.kind_at[line]
        row = self.rows[bisect_left(self.rows, line, key=attrgetter("line"))]
        return row.code, row.kind

    def unresolved(self, invalid: Collection[int]) -> list[tuple[int, str]]:
        """(line, problem) for every cell whose village is missing or on an invalid row."""
        referenced = set(self.pending_villages)
        broken = {v for v, line in self.villages.items() if line in invalid}
        unresolved = (referenced - self.villages.keys() - self.known_villages) | (
            referenced & broken
        )
        if not unresolved:
            return []
        return [
            (line, self.village_problem(village))
            for line, village in zip(self.pending_lines, self.pending_villages, strict=True)
            if village in unresolved
        ]

    def village_problem(self, village: str) -> str:
        village_line = self.villages.get(village)
        if village_line is not None:
            return f"所属村社区 {quote(village)}（第 {village_line} 行）本身有误，请先更正该行"
        other = self.seen.get(village.lower())
        if other is not None:
            code, kind = self.registered(other)
            if code == village:
                what = KIND_LABELS[kind] if kind is not None else "行"
                return f"所属村社区 {quote(village)} 是第 {other} 行的{what}，不是村社区"
            if kind == "village":
                return (
                    f"所属村社区 {quote(village)} 不存在，是否应为第 {other} 行的 {quote(code)}？"
                )
        lowered = village.lower()
        suggestion = next((v for v in self.known_villages if v.lower() == lowered), None)
        if suggestion is not None:
            return f"所属村社区 {quote(village)} 不存在，是否应为 {quote(suggestion)}？"
        return (
            f"所属村社区 {quote(village)} 不存在：名册中没有该编码的村社区行，系统中也没有该村社区"
        )

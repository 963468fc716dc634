"""The roster as the rest of the system sees it: checked rows and the problems found.

The roster reader produces these values and the loader writes them into the database;
neither needs the other, only these types.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from pingan.core.problems import Problem

Kind = Literal["cell", "village", "unit"]


@dataclass(frozen=True, slots=True)
class RosterRow:
    line: int  # spreadsheet row number (header is row 1)
    code: str
    name: str
    kind: Kind
    domain: str | None  # domain key, whether the sheet gave the key or the name
    village: str | None  # village code
    category: str | None
    contact: str | None
    mobile: str | None  # 11 digits, no country prefix
    email: str | None  # domain part lower-cased
    wecom: str | None  # "secret:<name>" or "env:<NAME>", never the key itself
    dingtalk: str | None
    webhook: str | None


@dataclass
class RosterResult:
    rows: list[RosterRow]  # valid rows only
    problems: list[Problem]  # every problem, each naming file, row and column
    invalid_lines: set[int]
    # Well-formed codes on invalid rows, so that a loader skipping those rows can still
    # tell "this unit's row has a typo" from "this unit has left the roster".
    invalid_codes: set[str] = field(default_factory=set)
    # What was read past but not refused, such as columns the roster does not have (序号,
    # 备注): told to the operator, never a reason to stop the load.
    warnings: list[Problem] = field(default_factory=list)

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
    # The first person's other columns, then persons 2 and 3 (contact, role, mobile, email,
    # WeCom userid, DingTalk userid each); see docs/roster.md.
    role: str | None = None
    wecom_user: str | None = None
    dingtalk_user: str | None = None
    contact2: str | None = None
    role2: str | None = None
    mobile2: str | None = None
    email2: str | None = None
    wecom_user2: str | None = None
    dingtalk_user2: str | None = None
    contact3: str | None = None
    role3: str | None = None
    mobile3: str | None = None
    email3: str | None = None
    wecom_user3: str | None = None
    dingtalk_user3: str | None = None

    def persons(self) -> list[Person]:
        """The row's persons in roster order (groups left empty are skipped)."""
        groups = (
            (self.contact, self.role, self.mobile, self.email, self.wecom_user, self.dingtalk_user),
            (
                self.contact2,
                self.role2,
                self.mobile2,
                self.email2,
                self.wecom_user2,
                self.dingtalk_user2,
            ),
            (
                self.contact3,
                self.role3,
                self.mobile3,
                self.email3,
                self.wecom_user3,
                self.dingtalk_user3,
            ),
        )
        return [Person(seq, *g) for seq, g in enumerate(groups, start=1) if any(g)]


@dataclass(frozen=True, slots=True)
class Person:
    """One person of a unit as the roster gives them."""

    seq: int  # 1, 2, 3: the roster's column group
    name: str | None
    role: str | None
    mobile: str | None
    email: str | None
    wecom_userid: str | None
    dingtalk_userid: str | None


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

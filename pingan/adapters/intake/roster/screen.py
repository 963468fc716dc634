"""The columnar screen: a chunk of rows checked column by column with C-level operations.

It reads the same rule table as the row check (rules.py). A column whose values all pass
costs a few map and set operations; otherwise only the failing rows go to the row check,
which words their problems. The screen must never pass a row the row check would reject;
tests compare the two on random rows.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, fields
from itertools import compress, repeat
from typing import Any

from pingan.adapters.intake.roster.codes import Codes
from pingan.adapters.intake.roster.columns import CATEGORY, CODE, DOMAIN, TYPE, VILLAGE
from pingan.adapters.intake.roster.placement import Placement
from pingan.adapters.intake.roster.rules import CELL, RULES, empty_to_none
from pingan.core.roster import Kind, RosterRow


@dataclass(frozen=True, slots=True)
class Screened:
    """A chunk after the screen: the rows it passed as RosterRows, the rest by position."""

    rows: list[RosterRow]
    slow: list[int]  # positions in the chunk, ascending


def screen(lines: list[int], cols: list[list[str]], codes: Codes, places: Placement) -> Screened:
    """Screen one chunk (one list per column) and register the rows that pass in ``codes``."""
    slow = _failing(cols)
    lowered = _fresh_codes(cols[CODE], codes, slow)
    values: list[list[Any]] = [[] for _ in cols]
    for rule in RULES:
        values[rule.column] = rule.values(cols[rule.column])
    kinds: list[Kind | None] = values[TYPE]
    values[DOMAIN] = _placed(kinds, cols, places, slow)

    if slow:
        fast = [k not in slow for k in range(len(lines))]
        pick: Callable[[list[Any]], list[Any]] = lambda col: list(compress(col, fast))  # noqa: E731
    else:
        pick = _same
    f_lines, f_kinds, f_village = pick(lines), pick(kinds), pick(cols[VILLAGE])
    codes.register(f_lines, pick(cols[CODE]), pick(lowered), f_kinds, f_village)
    values[VILLAGE], values[CATEGORY] = cols[VILLAGE], cols[CATEGORY]
    kept = [pick(column) for column in values]
    for column in (DOMAIN, VILLAGE, CATEGORY):
        kept[column] = empty_to_none(kept[column])
    return Screened(_bulk_rows(f_lines, *kept), sorted(slow))


def _failing(cols: list[list[str]]) -> set[int]:
    """Positions of the rows that fail a rule of the table."""
    slow: set[int] = set()
    for col in cols:
        if not CELL.all_ok(col):
            slow.update(k for k, v in enumerate(col) if not CELL.ok(v))
    for rule in RULES:
        col = cols[rule.column]
        if rule.missing is not None and not all(col):
            slow.update(k for k, v in enumerate(col) if not v)
        elif not any(col):
            continue
        for check in rule.checks:
            if not check.all_ok(col):
                slow.update(k for k, v in enumerate(col) if v and not check.ok(v))
    return slow


def _fresh_codes(code: list[str], codes: Codes, slow: set[int]) -> list[str]:
    """The lower-cased codes; rows whose code repeats or is taken are marked slow."""
    lowered = list(map(str.lower, code))
    if len(set(lowered)) != len(lowered):
        counts = Counter(lowered)
        slow.update(k for k, c in enumerate(lowered) if counts[c] > 1)
    slow.update(codes.taken(lowered))
    return lowered


def _placed(
    kinds: list[Kind | None], cols: list[list[str]], places: Placement, slow: set[int]
) -> list[str | None]:
    """Each row's domain key ("" for a village); rows the screen cannot place are slow."""
    village = cols[VILLAGE]
    keys = list(zip(kinds, cols[DOMAIN], cols[CATEGORY], map(bool, village), strict=True))
    domain_keys = list(map(places.combos.get, keys))
    if None in domain_keys:
        for k, d in enumerate(domain_keys):
            if d is None:
                domain_keys[k] = d = places.combo(keys[k], village[k])
                if d is None:
                    slow.add(k)
    return domain_keys


def _same(values: list[Any]) -> list[Any]:
    return values


_FIELD_SETTERS = [getattr(RosterRow, f.name).__set__ for f in fields(RosterRow)]


def _bulk_rows(*columns: list[Any]) -> list[RosterRow]:
    """RosterRows from one list per field, as RosterRow(*values) would build them.

    A frozen dataclass's __init__ sets each field through object.__setattr__, which made
    building the rows the largest single cost of a million-row roster; the slot
    descriptors do the same work from C. RosterRow has no __post_init__ to skip.
    """
    rows = list(map(object.__new__, repeat(RosterRow, len(columns[0]))))
    for setter, values in zip(_FIELD_SETTERS, columns, strict=True):
        deque(map(setter, rows, values), maxlen=0)
    return rows

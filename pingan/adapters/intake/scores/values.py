"""Cell values as a score sheet holds them: blank or filled, text, number, 是/否, date."""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime, time
from operator import itemgetter
from typing import Any


def filled(value: Any) -> bool:
    if value is None:
        return False
    if type(value) is str:
        return not value.isspace() and value != ""
    return True


_BLANK = frozenset({None, ""})


def row_filled(values: Iterable[Any]) -> bool:
    # Most cells of a sheet are None: a set test in C settles those rows before any
    # Python-level look at each cell. Every value openpyxl or csv returns is hashable.
    return not _BLANK.issuperset(values) and any(map(filled, values))


def picker(indices: Sequence[int]) -> Callable[[Sequence[Any]], Sequence[Any]]:
    if len(indices) == 1:
        only = indices[0]
        return lambda row: (row[only],)
    return itemgetter(*indices) if indices else (lambda row: ())


def text(value: Any) -> str:
    """A cell as text: numbers without a spurious ".0", dates in ISO form."""
    if type(value) is str:
        return value.strip()
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return str(value).strip()


def q(value: Any) -> str:
    """The value as shown in a message: quoted, cut to 40 characters, invisibles escaped."""
    shown = text(value)
    shown = shown if len(shown) <= 40 else shown[:40] + "…"
    if not shown.isprintable():
        shown = "".join(
            c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in shown
        )
    return f"'{shown}'"


def _fold(value: str) -> str:
    value = value.strip()
    return value if value.isascii() else unicodedata.normalize("NFKC", value).strip()


_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")


def number(value: Any) -> float | None:
    """The number in a cell, or None when it holds something else."""
    if isinstance(value, bool):
        return None  # TRUE as a score is a typing slip, not 1 point
    if isinstance(value, float):
        return value
    if isinstance(value, int):
        try:
            return float(value)
        except OverflowError:  # an integer too long for a float; check_sheet rejects inf
            return math.copysign(math.inf, value)
    if isinstance(value, str):
        folded = _fold(value)
        # Not float() alone: it also takes "nan", "inf", "1e3" and "1_0".
        if _NUMBER.fullmatch(folded):
            return float(folded)
    return None


_VETO = {
    "是": True,
    "否": False,
    "y": True,
    "n": False,
    "1": True,
    "0": False,
    "true": True,
    "false": False,
}


def veto(value: Any) -> bool | None:
    """True/False for a veto cell, None when the value is not one of the accepted ones."""
    if type(value) is str and value in _VETO:
        return _VETO[value]  # the template's own 是/否: by far the commonest case
    if not filled(value):
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return True if value == 1 else False if value == 0 else None
    if isinstance(value, str):
        return _VETO.get(_fold(value).lower())
    return None


_DATE_TEXT = re.compile(
    r"([0-9]{4})\s*[-/.年]\s*([0-9]{1,2})\s*[-/.月]\s*([0-9]{1,2})\s*日?"
    r"(?:[ T][0-9]{1,2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]+)?)?)?"
)
_DATE_FORMS = "2017-11-15、2017/11/15 或 2017年11月15日"


def parse_date(value: Any) -> date | str:
    """The date in a cell, or the message saying why there is none."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        match = _DATE_TEXT.fullmatch(_fold(value))
        if match:
            try:
                return date(int(match[1]), int(match[2]), int(match[3]))
            except ValueError:
                return f"日期 {q(value)} 不存在，请核对"
    return f"无法识别的日期 {q(value)}，应为 {_DATE_FORMS} 格式"

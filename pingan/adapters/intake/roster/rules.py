"""The rules each roster value must follow, written once for both ways of checking.

A rule is a column, the checks its value must pass and the Chinese wording of each failure.
The row-by-row check (Checker.row) asks ``Check.ok`` of one value and reports the first
check it fails; the columnar screen (screen.py) asks ``Check.all_ok`` of a whole chunk's
column at C speed and sends only the rows of a failing column to the row check.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final

from pingan.adapters.intake.roster.columns import (
    CODE,
    DINGTALK,
    KINDS,
    NAME,
    PERSONS,
    TYPE,
    WEBHOOK,
    WECOM,
    kind_of,
)

MAX_CELL_CHARS: Final = 1000
MAX_NAME_CHARS: Final = 200
# Sizes of the contact table's columns.
MAX_CONTACT_CHARS: Final = 100
MAX_EMAIL_CHARS: Final = 254
MAX_ROLE_CHARS: Final = 32

RAW_SECRET_MESSAGE: Final = "不得在名册中直接填写机器人密钥或地址，请改用 secret:名称 引用"

# --- value patterns ----------------------------------------------------------------------

_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
# C0, DEL, C1, line/paragraph separators and bidi overrides: none belongs in a name, and
# the bidi ones can make a name display differently from what it is.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
# [0-9], not \d: \d also accepts full-width and other scripts' digits.
_MOBILE = re.compile(r"(?:\+?86)?(1[3-9][0-9]{9})")
# ASCII only, as mail servers here take it: a full-width "，" or "。" typed after an address
# (name@163.com，) is a typo, never part of it. Dot-atoms, no leading, trailing or double dot.
_EMAIL = re.compile(
    r"([A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*)"
    r"@((?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+"
    r"(?:[A-Za-z]{2,63}|xn--[A-Za-z0-9-]{1,59}))"
)
# WeCom and DingTalk userids: letters, digits and _ . @ -, at most 64 characters.
_USERID = re.compile(r"[A-Za-z0-9_.@-]{1,64}")
_REFERENCE = re.compile(r"(secret|env):([A-Za-z0-9_.-]{1,100})", re.IGNORECASE)
# WeCom and Feishu keys are UUIDs, DingTalk tokens 64 hex digits; a long unbroken run of
# letters and digits is treated the same because no sensible secret name looks like that.
# No match spans a line break, so one search of a column joined by "\n" screens it all.
_RAW_SECRET = re.compile(
    r"key=|access_token=|://|[0-9a-f]{24,}|[A-Za-z0-9+/]{40,}"
    r"|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
    re.IGNORECASE,
)


def quote(value: str) -> str:
    """The value as shown in a message: quoted, cut to 40 characters, invisibles escaped."""
    shown = value if len(value) <= 40 else value[:40] + "…"
    if not shown.isprintable():
        shown = "".join(
            c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in shown
        )
    return f"'{shown}'"


_EMPTY = {"": None}


def empty_to_none(values: list[Any]) -> list[Any]:
    return list(map(_EMPTY.get, values, values))


# --- rules -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Check:
    """One condition on a non-empty value.

    ``ok`` decides for one value; ``all_ok`` decides for a chunk's whole column at once and
    may answer False when every value is fine, but never True when one is not.
    """

    ok: Callable[[str], bool]
    message: Callable[[str], str]
    all_ok: Callable[[list[str]], bool]


@dataclass(frozen=True, slots=True)
class Rule:
    """What one column's value must be, and the value kept for a good one."""

    column: int
    missing: str | None  # the problem when the value is empty; None if it may be empty
    checks: tuple[Check, ...]  # on a non-empty value, in order; the first failure is reported
    store: Callable[[str], Any] | None = None  # kept value of a good value (default: as is)
    # store over a chunk's column; only the values of good rows need be right.
    store_all: Callable[[list[str]], list[Any]] | None = None

    def problem(self, value: str) -> str | None:
        """The problem with a non-empty value, or None."""
        for check in self.checks:
            if not check.ok(value):
                return check.message(value)
        return None

    def accepts(self, value: str) -> bool:
        return bool(value) and self.problem(value) is None

    def value(self, value: str) -> Any:
        if not value:
            return None
        return value if self.store is None else self.store(value)

    def values(self, column: list[str]) -> list[Any]:
        if self.store_all is not None:
            return self.store_all(column)
        if self.store is None:
            # Good rows have a value where one is required: those columns are kept as is.
            return column if self.missing is not None else empty_to_none(column)
        if not any(column):
            return [None] * len(column)
        return list(map(self.value, column))


def too_long(label: str, limit: int) -> Check:
    return Check(
        lambda v: len(v) <= limit,
        lambda v: f"{label}过长（{len(v)} 个字符，上限 {limit} 个）",
        lambda col: max(map(len, col), default=0) <= limit,
    )


def _no_control(label: str) -> Check:
    return Check(
        lambda v: _CONTROL.search(v) is None,
        lambda v: f"{label} {quote(v)} 含有控制字符（如换行、制表符或不可见字符），请删除",
        # A control character is one character: joining values cannot make or hide one.
        lambda col: _CONTROL.search("".join(col)) is None,
    )


def _shaped(pattern: re.Pattern[str], message: Callable[[str], str]) -> Check:
    return Check(
        lambda v: pattern.fullmatch(v) is not None,
        message,
        lambda col: all(map(pattern.fullmatch, filter(None, col))),
    )


# Every cell of every column: nothing longer is read, whatever the column.
CELL: Final = too_long("内容", MAX_CELL_CHARS)


def _mobile_digits(value: str) -> str:
    return value.replace(" ", "").replace("-", "").replace("\u3000", "")


def _mobile(value: str) -> str | None:
    match = _MOBILE.fullmatch(_mobile_digits(value))
    return None if match is None else match[1]


def _mobiles(column: list[str]) -> list[str | None]:
    # A good value of 11 characters has no separators or prefix: it is kept as typed.
    if set(map(len, column)) <= {0, 11}:
        return empty_to_none(column)
    return list(map(_mobile, column))


def _email(value: str) -> str | None:
    match = _EMAIL.fullmatch(value)
    return None if match is None else f"{match[1]}@{match[2].lower()}"


def _emails(column: list[str]) -> list[str | None]:
    if list(map(str.lower, column)) == column:
        return empty_to_none(column)
    return [_email(v) if v else None for v in column]


def _kinds(column: list[str]) -> list[Any]:
    kinds: list[Any] = list(map(KINDS.get, column))
    if kinds.count(None) == column.count(""):
        return kinds
    return [k if k is not None or not v else kind_of(v) for k, v in zip(kinds, column, strict=True)]


def _reference(value: str) -> str | None:
    match = _REFERENCE.fullmatch(value)
    return None if match is None else f"{match[1].lower()}:{match[2]}"


_REFERENCE_CHECKS = (
    # Nothing in these columns is ever echoed: a value that is not a reference may still
    # be a key of a shape the raw-secret pattern does not know.
    Check(
        lambda v: _RAW_SECRET.search(v) is None,
        lambda v: RAW_SECRET_MESSAGE,
        lambda col: _RAW_SECRET.search("\n".join(col)) is None,
    ),
    _shaped(
        _REFERENCE,
        lambda v: (
            "应填写 secret:名称 或 env:名称 形式的引用（名称由字母、数字和 _ . - 组成，"
            "最长 100 个字符）；为防泄露，此处不显示所填内容"
        ),
    ),
)


def _userid(label: str) -> Check:
    return _shaped(
        _USERID,
        lambda v: f"{label} {quote(v)} 格式不符：只能由字母、数字和 _ . @ - 组成，最长 64 个字符",
    )


def _person_rules(number: int, columns: tuple[int, ...]) -> tuple[Rule, ...]:
    """The rules of one person's columns (contact, role, mobile, email, WeCom and DingTalk
    userids); the labels of persons 2 and 3 carry their number (联系人2 …)."""
    contact, role, mobile, email, wecom_user, dingtalk_user = columns
    n = "" if number == 1 else str(number)
    return (
        Rule(contact, None, (too_long(f"联系人{n}", MAX_CONTACT_CHARS), _no_control(f"联系人{n}"))),
        Rule(role, None, (too_long(f"职务{n}", MAX_ROLE_CHARS), _no_control(f"职务{n}"))),
        Rule(
            mobile,
            None,
            (
                Check(
                    lambda v: _mobile(v) is not None,
                    lambda v: f"{quote(v)} 不是有效的 11 位大陆手机号",
                    # Typed as plain digits, the usual case, a value needs no clean-up first.
                    lambda col: all(map(_MOBILE.fullmatch, filter(None, col))),
                ),
            ),
            _mobile,
            _mobiles,
        ),
        Rule(
            email,
            None,
            (
                _shaped(_EMAIL, lambda v: f"{quote(v)} 不是有效的邮箱地址"),
                too_long("邮箱地址", MAX_EMAIL_CHARS),
            ),
            _email,
            _emails,
        ),
        Rule(wecom_user, None, (_userid(f"企业微信账号{n}"),)),
        Rule(dingtalk_user, None, (_userid(f"钉钉账号{n}"),)),
    )


RULES: Final[Sequence[Rule]] = (
    Rule(
        CODE,
        "缺少编码",
        (
            _shaped(
                _CODE,
                lambda v: (
                    f"编码 {quote(v)} 格式不符：只能由字母、数字、- 和 _ 组成，"
                    "须以字母或数字开头，最长 64 个字符"
                ),
            ),
        ),
    ),
    Rule(NAME, "缺少名称", (too_long("名称", MAX_NAME_CHARS), _no_control("名称"))),
    Rule(
        TYPE,
        "缺少类型",
        (
            Check(
                lambda v: kind_of(v) is not None,
                lambda v: (
                    f"类型 {quote(v)} 无效，应为 cell（创建单位）、village（村社区）或 unit（单位）"
                ),
                lambda col: all(map(KINDS.get, filter(None, col))),
            ),
        ),
        kind_of,
        _kinds,
    ),
    *(rule for n, person in enumerate(PERSONS, start=1) for rule in _person_rules(n, person)),
    *(Rule(column, None, _REFERENCE_CHECKS, _reference) for column in (WECOM, DINGTALK, WEBHOOK)),
)
RULE: Final = {rule.column: rule for rule in RULES}

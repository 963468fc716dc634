"""Reader and validator for the roster (名册) of cells, villages and unit contacts.

The roster is typed by hand in Excel or WPS by street-office staff, so every problem is
collected and reported with the file, row and column instead of stopping at the first one;
the format is described for operators in docs/roster.md. Rosters run to a million rows for
a large district's families, so rows are screened a chunk at a time with C-level map and
set operations, and only rows that fail a screen are checked one by one (see _Checker).
"""

from __future__ import annotations

import csv
import gc
import re
from bisect import bisect_left
from collections import Counter, deque
from collections.abc import Callable, Collection, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from datetime import date, datetime, time
from itertools import compress, repeat
from operator import attrgetter, itemgetter
from pathlib import Path
from typing import Any, Final, Literal

import openpyxl
from openpyxl.utils import get_column_letter

from pingan.adapters.intake.tabular import detect_encoding, preflight
from pingan.core.campaign import Campaign
from pingan.core.problems import Problem

Kind = Literal["cell", "village", "unit"]

MAX_DATA_ROWS: Final = 2_000_000
# A file of blank lines costs time without adding data rows, so physical rows are capped too.
MAX_TOTAL_ROWS: Final = 2 * MAX_DATA_ROWS
MAX_CELL_CHARS: Final = 1000
MAX_NAME_CHARS: Final = 200
# Sizes of the contact table's columns.
MAX_CONTACT_CHARS: Final = 100
MAX_EMAIL_CHARS: Final = 254
# Rows screened together: enough that the per-chunk overhead vanishes, few enough that a
# chunk's cells stay in the CPU cache.
_CHUNK_ROWS = 512
# Tests turn this off to check the bulk screens against the row-by-row checks.
_FAST_PATH = True

RAW_SECRET_MESSAGE: Final = "不得在名册中直接填写机器人密钥或地址，请改用 secret:名称 引用"


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


# --- columns -----------------------------------------------------------------------------

(CODE, NAME, TYPE, DOMAIN, VILLAGE, CATEGORY, CONTACT, MOBILE, EMAIL, WECOM, DINGTALK, WEBHOOK) = (
    range(12)
)
_ROW_LEVEL = -1

# (English name, Chinese label used in locations, accepted header spellings)
_COLUMNS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("code", "编码", ()),
    ("name", "名称", ()),
    ("type", "类型", ()),
    ("domain", "领域", ()),
    ("village", "所属村社区", ("村社区", "村(社区)", "所属村(社区)")),
    ("category", "类别", ()),
    ("contact", "联系人", ()),
    ("mobile", "手机", ("手机号",)),
    ("email", "邮箱", ()),
    ("wecom", "企业微信机器人", ()),
    ("dingtalk", "钉钉机器人", ()),
    ("webhook", "推送地址", ()),
)
_LABELS = tuple(label for _, label, _ in _COLUMNS)
_REQUIRED = (CODE, NAME, TYPE)
_SECRET_COLUMNS = (WECOM, DINGTALK, WEBHOOK)


def _norm(text: str) -> str:
    # WPS and Chinese IMEs type full-width brackets as often as half-width ones.
    return text.strip().lower().replace("（", "(").replace("）", ")")


_HEADER_ALIASES: dict[str, int] = {}
for _i, (_en, _zh, _more) in enumerate(_COLUMNS):
    for _alias in (_en, _zh, *_more):
        _HEADER_ALIASES[_norm(_alias)] = _i

_KINDS: dict[str, Kind] = {
    "cell": "cell",
    "细胞": "cell",
    "创建单位": "cell",
    "village": "village",
    "村社区": "village",
    "村(社区)": "village",
    "村": "village",
    "社区": "village",
    "unit": "unit",
    "单位": "unit",
}
_KIND_LABELS: dict[Kind, str] = {"cell": "创建单位", "village": "村社区", "unit": "单位"}

_COLUMN_LIST = "、".join(f"{zh}（{en}）" for en, zh, _ in _COLUMNS)

# --- value patterns ----------------------------------------------------------------------

_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
# C0, DEL, C1, line/paragraph separators and bidi overrides: none belongs in a name, and
# the bidi ones can make a name display differently from what it is.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
# [0-9], not \d: \d also accepts full-width and other scripts' digits.
_MOBILE = re.compile(r"(?:\+?86)?(1[3-9][0-9]{9})")
_EMAIL = re.compile(r"([^@\s\x00-\x1f\x7f]+)@((?:[^@\s\x00-\x1f\x7f.]+\.)+[^@\s\x00-\x1f\x7f.]+)")
_REFERENCE = re.compile(r"(secret|env):([A-Za-z0-9_.-]{1,100})", re.IGNORECASE)
# WeCom and Feishu keys are UUIDs, DingTalk tokens 64 hex digits; a long unbroken run of
# letters and digits is treated the same because no sensible secret name looks like that.
_RAW_SECRET = re.compile(
    r"key=|access_token=|://|[0-9a-f]{24,}|[A-Za-z0-9+/]{40,}"
    r"|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
    re.IGNORECASE,
)


def _q(value: str) -> str:
    """The value as shown in a message: quoted, cut to 40 characters, invisibles escaped."""
    shown = value if len(value) <= 40 else value[:40] + "…"
    if not shown.isprintable():
        shown = "".join(
            c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in shown
        )
    return f"'{shown}'"


class _Stop(Exception):
    """The file cannot be checked row by row (bad header, too many rows)."""


def _reference(value: str) -> tuple[str | None, str]:
    """(normalised reference, "") for a good value, (None, message) otherwise."""
    # Nothing in these columns is ever echoed: a value that is not a reference may still
    # be a key of a shape the raw-secret pattern does not know.
    if _RAW_SECRET.search(value):
        return None, RAW_SECRET_MESSAGE
    match = _REFERENCE.fullmatch(value)
    if match is None:
        return None, (
            "应填写 secret:名称 或 env:名称 形式的引用（名称由字母、数字和 _ . - 组成，"
            "最长 100 个字符）；为防泄露，此处不显示所填内容"
        )
    return f"{match.group(1).lower()}:{match.group(2)}", ""


def _mobile_digits(value: str) -> str:
    return value.replace(" ", "").replace("-", "").replace("\u3000", "")


_EMPTY = {"": None}


def _empty_to_none(values: list[Any]) -> list[Any]:
    return list(map(_EMPTY.get, values, values))


def _misses(values: list[str], results: list[Any]) -> list[int]:
    """Positions of non-empty values whose result is None (empty values always give None)."""
    if results.count(None) == values.count(""):
        return []
    return [k for k, (v, r) in enumerate(zip(values, results, strict=True)) if r is None and v]


class _Checker:
    """Collects every problem in a roster, a chunk of rows at a time.

    Each chunk is first screened column by column with C-level map/set operations; rows
    that pass every screen become RosterRows in bulk, and only the rest go through row(),
    which checks one row in full and words the problems. The screens must never pass a
    row that row() would reject; tests compare the two paths on random rows.
    """

    def __init__(
        self,
        source: str,
        prefix: str,
        campaign: Campaign,
        known_villages: Collection[str],
        *,
        letters: bool,
    ) -> None:
        self.source = source
        self.prefix = prefix
        self.letters = letters
        self.known_villages = set(known_villages)
        self.domains: dict[str, str] = {}
        self.categories: dict[str, frozenset[str]] = {}
        self.domain_names: dict[str, str] = {}
        self.category_choices: dict[str, str] = {}
        for d in campaign.domains:
            self.domains[d.key] = self.domains[d.key.lower()] = self.domains[d.name] = d.key
            self.categories[d.key] = frozenset(d.cell_categories)
            self.domain_names[d.key] = d.name
            self.category_choices[d.key] = "、".join(d.cell_categories)
        self.domain_choices = "、".join(f"{d.key}（{d.name}）" for d in campaign.domains)
        # Codes compare case-insensitively for clashes: inbox folders are named by code
        # and a Windows share would merge "ABC" and "abc" into one folder.
        named = [(campaign.coordinator.code, campaign.coordinator.name)]
        named += [(u.code, u.name) for u in campaign.units]
        self.units: dict[str, tuple[str, str]] = {code.lower(): (code, n) for code, n in named}

        self.problems: list[tuple[int, int, Problem]] = []
        self.invalid: set[int] = set()
        self.rows: list[RosterRow] = []  # from the bulk path, in line order
        self.slow_rows: list[RosterRow] = []  # from row()
        self.slow_codes: dict[int, str] = {}  # code of every line row() checked
        # Flat dicts and parallel lists rather than a tuple per row: fewer allocations
        # and far less memory on a million-row roster.
        self.seen: dict[str, int] = {}  # lower-cased code -> line of its first occurrence
        # Code and kind of the lines row() registered in seen; those the bulk path
        # registered are found in self.rows (see registered()).
        self.code_at: dict[int, str] = {}
        self.kind_at: dict[int, Kind | None] = {}
        self.villages: dict[str, int] = {}
        self.pending_lines: list[int] = []  # cells whose village is checked in finish()
        self.pending_villages: list[str] = []
        # (kind, domain, category, has village) -> domain key ("" for villages), or None
        # when row() must look at the row; a roster has only a handful of combinations.
        self.combos: dict[tuple[Kind | None, str, str, bool], str | None] = {}
        self.references: dict[str, str] = {}

        self.line = 0
        self.data_rows = 0
        self.header_line = 0
        self.width = -1
        self.index: list[int] | None = None
        self.unnamed: list[int] = []
        self.stray_reported: set[int] = set()
        self.buffer_lines: list[int] = []
        self.buffer: list[list[str]] = []
        self.fast = _FAST_PATH

    # -- reporting -------------------------------------------------------------------------

    def where(self, line: int, column: int = _ROW_LEVEL) -> str:
        base = f"{self.prefix}第 {line} 行"
        return base if column == _ROW_LEVEL else f"{base} {_LABELS[column]}"

    def column_name(self, index: int) -> str:
        return f"{get_column_letter(index + 1)} 列" if self.letters else f"第 {index + 1} 列"

    def add(self, line: int, column: int, message: str) -> None:
        self.problems.append(
            (line, column, Problem(self.source, self.where(line, column), message))
        )
        self.invalid.add(line)

    def note(self, line: int, where: str, message: str) -> None:
        """A problem with the sheet's layout that does not make any one row invalid."""
        self.problems.append((line, _ROW_LEVEL, Problem(self.source, where, message)))

    # -- reading ---------------------------------------------------------------------------

    def consume(self, rows: Iterable[list[str]]) -> None:
        line = self.line
        buffer = self.buffer
        buffer_lines = self.buffer_lines
        try:
            for cells in rows:
                line += 1
                if line > MAX_TOTAL_ROWS:
                    raise _Stop(f"名册行数（含空行）超过上限 {MAX_TOTAL_ROWS:,} 行")
                if not any(cells):
                    continue
                if self.index is None:
                    self.header(line, cells)
                    continue
                buffer.append(cells)
                buffer_lines.append(line)
                if len(buffer) >= _CHUNK_ROWS:
                    self.line = line
                    self.flush()
        finally:
            self.line = line

    def header(self, line: int, cells: list[str]) -> None:
        index = [-1] * len(_COLUMNS)
        unknown: list[tuple[int, str]] = []
        duplicated: list[tuple[int, str, int]] = []
        for i, raw in enumerate(cells):
            text = raw.strip()
            if not text:
                self.unnamed.append(i)
                continue
            column = _HEADER_ALIASES.get(_norm(text))
            if column is None:
                unknown.append((i, text))
            elif index[column] >= 0:
                duplicated.append((i, text, index[column]))
            else:
                index[column] = i
        self.header_line = line
        if all(index[c] < 0 for c in _REQUIRED):
            # Most likely the sheet has no header row at all (a village row may still
            # match a header by chance: 村社区); one problem says so better than one
            # "unknown column" per cell of the first data row.
            self.note(
                line,
                self.where(line),
                "未找到表头：第一行应为列名（至少包括 编码、名称、类型），"
                f"可用列名：{_COLUMN_LIST}",
            )
            raise _Stop
        for i, text in unknown:
            self.note(
                line,
                f"{self.where(line)} {self.column_name(i)}",
                f"未知列名 {_q(text)}，可用列名：{_COLUMN_LIST}",
            )
        for i, text, first in duplicated:
            self.note(
                line,
                f"{self.where(line)} {self.column_name(i)}",
                f"列名 {_q(text)} 与{self.column_name(first)}（{cells[first].strip()}）"
                "是同一列，请删除其中一列",
            )
        missing = [c for c in _REQUIRED if index[c] < 0]
        for c in missing:
            en, zh, _ = _COLUMNS[c]
            self.note(line, self.where(line), f"缺少必填列“{zh}”（或英文列名 {en}）")
        if missing:
            raise _Stop
        self.width = len(cells)
        self.index = index

    def stray(self, line: int, cells: list[str], columns: Iterable[int]) -> None:
        for i in columns:
            if i not in self.stray_reported and cells[i].strip():
                self.stray_reported.add(i)
                self.note(
                    line,
                    f"{self.where(line)} {self.column_name(i)}",
                    "该列没有列名，内容不会被读取；请补上列名或删除该列内容",
                )

    def flush(self) -> None:
        if not self.buffer or self.index is None:
            return
        lines = self.buffer_lines[:]
        rows = self.buffer[:]
        self.buffer_lines.clear()
        self.buffer.clear()
        width = self.width
        if min(map(len, rows)) != width or max(map(len, rows)) != width:
            for line, cells in zip(lines, rows, strict=True):
                if len(cells) > width:
                    self.stray(line, cells, range(width, len(cells)))
                elif len(cells) < width:
                    cells.extend([""] * (width - len(cells)))
        for i in self.unnamed:
            if i not in self.stray_reported and any(map(str.strip, map(itemgetter(i), rows))):
                for line, cells in zip(lines, rows, strict=True):
                    self.stray(line, cells, (i,))
        n = len(rows)
        cols = [
            list(map(str.strip, map(itemgetter(i), rows))) if i >= 0 else [""] * n
            for i in self.index
        ]
        if not all(cols[CODE]):
            # Rows of nothing but spaces look like data until stripped.
            keep = [any(col[k] for col in cols) or any(map(str.strip, rows[k])) for k in range(n)]
            if not all(keep):
                lines = list(compress(lines, keep))
                cols = [list(compress(col, keep)) for col in cols]
                n = len(lines)
                if not n:
                    return
        self.data_rows += n
        if self.data_rows > MAX_DATA_ROWS:
            raise _Stop(f"名册数据行超过上限（最多 {MAX_DATA_ROWS:,} 行）")
        if not self.fast:
            for k in range(n):
                self.row(lines[k], [col[k] for col in cols])
            return

        slow: set[int] = set()
        for col in cols:
            if max(map(len, col), default=0) > MAX_CELL_CHARS:
                slow.update(k for k, v in enumerate(col) if len(v) > MAX_CELL_CHARS)
        (
            code,
            name,
            typ,
            domain,
            village,
            category,
            contact,
            mobile,
            email,
            wecom,
            dingtalk,
            webhook,
        ) = cols

        matches: list[Any] = list(map(_CODE.fullmatch, code))
        if not all(matches):
            slow.update(k for k, m in enumerate(matches) if m is None)
        lowered = list(map(str.lower, code))
        if len(set(lowered)) != n:
            counts = Counter(lowered)
            slow.update(k for k, c in enumerate(lowered) if counts[c] > 1)
        for taken in (self.seen, self.units):
            if not taken.keys().isdisjoint(lowered):
                slow.update(k for k, c in enumerate(lowered) if c in taken)

        if not all(name) or max(map(len, name)) > MAX_NAME_CHARS or _CONTROL.search("".join(name)):
            slow.update(
                k
                for k, v in enumerate(name)
                if not v or len(v) > MAX_NAME_CHARS or _CONTROL.search(v)
            )
        if max(map(len, contact)) > MAX_CONTACT_CHARS or _CONTROL.search("".join(contact)):
            slow.update(
                k for k, v in enumerate(contact) if len(v) > MAX_CONTACT_CHARS or _CONTROL.search(v)
            )

        kinds: list[Kind | None] = list(map(_KINDS.get, typ))
        for k in _misses(typ, kinds):
            kinds[k] = _KINDS.get(_norm(typ[k]))
        combo_keys = list(zip(kinds, domain, category, map(bool, village), strict=True))
        domain_keys = list(map(self.combos.get, combo_keys))
        if None in domain_keys:
            for k, d in enumerate(domain_keys):
                if d is None:
                    domain_keys[k] = d = self.combo(combo_keys[k])
                    if d is None:
                        slow.add(k)

        matches = list(map(_MOBILE.fullmatch, mobile))
        if set(map(len, mobile)) <= {0, 11} and not _misses(mobile, matches):
            mobile_out: list[str | None] = _empty_to_none(mobile)
        else:
            mobile_out = [m[1] if m else None for m in matches]
            for k in _misses(mobile, matches):
                match = _MOBILE.fullmatch(_mobile_digits(mobile[k]))
                if match is None:
                    slow.add(k)
                else:
                    mobile_out[k] = match[1]

        matches = list(map(_EMAIL.fullmatch, email))
        slow.update(_misses(email, matches))
        if max(map(len, email)) > MAX_EMAIL_CHARS:
            slow.update(k for k, v in enumerate(email) if len(v) > MAX_EMAIL_CHARS)
        if list(map(str.lower, email)) == email:
            email_out = _empty_to_none(email)
        else:
            email_out = [f"{m[1]}@{m[2].lower()}" if m else None for m in matches]

        refs: list[list[str | None]] = []
        for col in (wecom, dingtalk, webhook):
            if col.count("") == n:
                refs.append([None] * n)
                continue
            out: list[str | None] = list(map(self.references.get, col))
            for k in _misses(col, out):
                ref, _ = _reference(col[k])
                if ref is None:
                    slow.add(k)
                else:
                    # Only good references are kept: a rejected value may be a secret.
                    self.references[col[k]] = out[k] = ref
            refs.append(out)

        if slow:
            fast = [k not in slow for k in range(n)]
            pick: Callable[[list[Any]], list[Any]] = lambda col: list(compress(col, fast))  # noqa: E731
        else:
            pick = _same
        f_lines, f_code, f_lowered, f_kinds = pick(lines), pick(code), pick(lowered), pick(kinds)
        f_village = pick(village)
        self.seen.update(zip(f_lowered, f_lines, strict=True))
        is_cell = list(map("cell".__eq__, f_kinds))
        self.pending_lines.extend(compress(f_lines, is_cell))
        self.pending_villages.extend(compress(f_village, is_cell))
        if not all(is_cell):
            for line, c, kind in zip(f_lines, f_code, f_kinds, strict=True):
                if kind == "village":
                    self.villages[c] = line
        self.rows.extend(
            _bulk_rows(
                f_lines,
                f_code,
                pick(name),
                f_kinds,
                _empty_to_none(pick(domain_keys)),
                _empty_to_none(f_village),
                _empty_to_none(pick(category)),
                _empty_to_none(pick(contact)),
                pick(mobile_out),
                pick(email_out),
                *map(pick, refs),
            )
        )
        if slow:
            for k in sorted(slow):
                self.row(lines[k], [col[k] for col in cols])

    def combo(self, key: tuple[Kind | None, str, str, bool]) -> str | None:
        """The domain key ("" for a village) if the bulk path may take such rows, else None.

        Unit rows always get None: they are few, and row() checks them against the
        campaign's units.
        """
        kind, domain, category, has_village = key
        result: str | None = None
        if kind == "cell":
            domain_key = self.domains.get(domain) or self.domains.get(domain.lower())
            if (
                domain_key is not None
                and has_village
                and (not category or category in self.categories[domain_key])
            ):
                result = domain_key
        elif kind == "village" and not (domain or category or has_village):
            result = ""
        self.combos[key] = result
        return result

    def row(self, line: int, vals: list[str]) -> None:
        """Check one row in full and report every problem in it."""
        skip: Collection[int] = ()
        if max(map(len, vals)) > MAX_CELL_CHARS:
            skip = self.huge(line, vals)
        (
            code,
            name,
            typ,
            domain,
            village,
            category,
            contact,
            mobile,
            email,
            wecom,
            dingtalk,
            webhook,
        ) = vals
        add = self.add

        code_ok = False
        self.slow_codes[line] = code
        if not code:
            if CODE not in skip:
                add(line, CODE, "缺少编码")
        elif _CODE.fullmatch(code) is None:
            add(
                line,
                CODE,
                f"编码 {_q(code)} 格式不符：只能由字母、数字、- 和 _ 组成，"
                "须以字母或数字开头，最长 64 个字符",
            )
        else:
            code_ok = True

        if not name:
            if NAME not in skip:
                add(line, NAME, "缺少名称")
        elif len(name) > MAX_NAME_CHARS:
            add(line, NAME, f"名称过长（{len(name)} 个字符，上限 {MAX_NAME_CHARS} 个）")
        elif _CONTROL.search(name):
            add(line, NAME, f"名称 {_q(name)} 含有控制字符（如换行、制表符或不可见字符），请删除")

        kind: Kind | None = None
        if not typ:
            if TYPE not in skip:
                add(line, TYPE, "缺少类型")
        else:
            kind = _KINDS.get(typ) or _KINDS.get(_norm(typ))
            if kind is None:
                add(
                    line,
                    TYPE,
                    f"类型 {_q(typ)} 无效，应为 cell（创建单位）、village（村社区）或 unit（单位）",
                )

        domain_key: str | None = None
        if kind == "cell":
            if not domain:
                if DOMAIN not in skip:
                    add(line, DOMAIN, "创建单位须填写领域")
            else:
                domain_key = self.domains.get(domain) or self.domains.get(domain.lower())
                if domain_key is None:
                    add(line, DOMAIN, f"领域 {_q(domain)} 不存在，可选：{self.domain_choices}")
            if not village:
                if VILLAGE not in skip:
                    add(line, VILLAGE, "创建单位须填写所属村社区（村社区的编码）")
            else:
                self.pending_lines.append(line)
                self.pending_villages.append(village)
            if category and domain_key is not None and category not in self.categories[domain_key]:
                add(
                    line,
                    CATEGORY,
                    f"类别 {_q(category)} 不属于{self.domain_names[domain_key]}，"
                    f"可选：{self.category_choices[domain_key]}",
                )
        elif kind is not None:
            for column, value in ((DOMAIN, domain), (VILLAGE, village), (CATEGORY, category)):
                if value:
                    add(
                        line,
                        column,
                        f"{_KIND_LABELS[kind]}行不应填写{_LABELS[column]}（当前为 {_q(value)}），"
                        "领域、所属村社区、类别仅适用于创建单位",
                    )

        if code_ok:
            self.check_code(line, code, kind)

        if len(contact) > MAX_CONTACT_CHARS:
            add(
                line,
                CONTACT,
                f"联系人过长（{len(contact)} 个字符，上限 {MAX_CONTACT_CHARS} 个）",
            )
        elif contact and _CONTROL.search(contact):
            add(
                line,
                CONTACT,
                f"联系人 {_q(contact)} 含有控制字符（如换行、制表符或不可见字符），请删除",
            )

        mobile_out: str | None = None
        if mobile:
            match = _MOBILE.fullmatch(_mobile_digits(mobile))
            if match is None:
                add(line, MOBILE, f"{_q(mobile)} 不是有效的 11 位大陆手机号")
            else:
                mobile_out = match.group(1)

        email_out: str | None = None
        if email:
            match = _EMAIL.fullmatch(email)
            if match is None:
                add(line, EMAIL, f"{_q(email)} 不是有效的邮箱地址")
            elif len(email) > MAX_EMAIL_CHARS:
                add(line, EMAIL, f"邮箱地址过长（{len(email)} 个字符，上限 {MAX_EMAIL_CHARS} 个）")
                match = None
            else:
                email_out = f"{match.group(1)}@{match.group(2).lower()}"

        refs: list[str | None] = [None, None, None]
        for i, (column, value) in enumerate(
            ((WECOM, wecom), (DINGTALK, dingtalk), (WEBHOOK, webhook))
        ):
            if value:
                refs[i], message = _reference(value)
                if message:
                    add(line, column, message)

        if kind is not None and line not in self.invalid:
            cell = kind == "cell"
            self.slow_rows.append(
                RosterRow(
                    line,
                    code,
                    name,
                    kind,
                    domain_key,
                    village if cell else None,
                    (category or None) if cell else None,
                    contact or None,
                    mobile_out,
                    email_out,
                    refs[0],
                    refs[1],
                    refs[2],
                )
            )

    def huge(self, line: int, vals: list[str]) -> set[int]:
        skip: set[int] = set()
        for column, value in enumerate(vals):
            if len(value) > MAX_CELL_CHARS:
                # No echo: the value may be a pasted secret, and 40 characters of a
                # 5,000-character paste tell the operator nothing the length does not.
                self.add(line, column, f"内容过长（{len(value)} 个字符，上限 {MAX_CELL_CHARS} 个）")
                vals[column] = ""
                skip.add(column)
        return skip

    def check_code(self, line: int, code: str, kind: Kind | None) -> None:
        lower = code.lower()
        first = self.seen.get(lower)
        if first is not None:
            earlier, _ = self.registered(first)
            same = "" if earlier == code else f"（{_q(earlier)}，编码不区分大小写）"
            self.add(line, CODE, f"编码 {_q(code)} 与第 {first} 行重复{same}")
        else:
            self.seen[lower] = line
            self.code_at[line] = code
            self.kind_at[line] = kind
            if kind == "village":
                self.villages[code] = line
        unit = self.units.get(lower)
        if kind == "unit":
            if unit is None:
                self.add(
                    line,
                    CODE,
                    f"单位编码 {_q(code)} 未在活动方案中定义；"
                    "单位行只能为方案中已有的单位补充联系方式",
                )
            elif unit[0] != code:
                self.add(
                    line, CODE, f"单位编码 {_q(code)} 与活动方案中的 {_q(unit[0])} 大小写不一致"
                )
        elif kind is not None and unit is not None:
            self.add(
                line,
                CODE,
                f"编码 {_q(code)} 已是活动方案中单位（{unit[1]}）的编码，"
                f"{_KIND_LABELS[kind]}须另取编码",
            )

    # -- cross-row checks ------------------------------------------------------------------

    def finish(self) -> RosterResult:
        self.flush()
        if self.index is None:
            self.note(0, "", "名册为空：没有表头行")
        elif self.data_rows == 0:
            self.note(self.header_line, "", "名册中没有数据行")
        referenced = set(self.pending_villages)
        broken = {v for v, line in self.villages.items() if line in self.invalid}
        unresolved = (referenced - self.villages.keys() - self.known_villages) | (
            referenced & broken
        )
        if unresolved:
            for line, village in zip(self.pending_lines, self.pending_villages, strict=True):
                if village in unresolved:
                    self.add(line, VILLAGE, self.village_problem(village))
        return self.result()

    def registered(self, line: int) -> tuple[str, Kind | None]:
        """Code and kind of a line whose code is in self.seen."""
        if line in self.code_at:
            return self.code_at[line], self.kind_at[line]
        row = self.rows[bisect_left(self.rows, line, key=attrgetter("line"))]
        return row.code, row.kind

    def village_problem(self, village: str) -> str:
        village_line = self.villages.get(village)
        if village_line is not None:
            return f"所属村社区 {_q(village)}（第 {village_line} 行）本身有误，请先更正该行"
        other = self.seen.get(village.lower())
        if other is not None:
            code, kind = self.registered(other)
            if code == village:
                what = _KIND_LABELS[kind] if kind is not None else "行"
                return f"所属村社区 {_q(village)} 是第 {other} 行的{what}，不是村社区"
            if kind == "village":
                return f"所属村社区 {_q(village)} 不存在，是否应为第 {other} 行的 {_q(code)}？"
        lowered = village.lower()
        suggestion = next((v for v in self.known_villages if v.lower() == lowered), None)
        if suggestion is not None:
            return f"所属村社区 {_q(village)} 不存在，是否应为 {_q(suggestion)}？"
        return f"所属村社区 {_q(village)} 不存在：名册中没有该编码的村社区行，系统中也没有该村社区"

    def result(self, *, keep_rows: bool = True) -> RosterResult:
        self.problems.sort(key=itemgetter(0, 1))
        invalid = self.invalid
        rows: list[RosterRow] = []
        if keep_rows:
            rows = self.rows
            if self.slow_rows:
                rows = sorted(self.rows + self.slow_rows, key=attrgetter("line"))
            if invalid:
                rows = [r for r in rows if r.line not in invalid]
        return RosterResult(
            rows, [p for _, _, p in self.problems], set(invalid), self.invalid_codes()
        )

    def invalid_codes(self) -> set[str]:
        codes: set[str] = set()
        for line in self.invalid:
            code = self.slow_codes.get(line)
            if code is None:
                # A bulk-path row that finish() rejected for its village, or a CSV record
                # too broken to read (no code at all).
                i = bisect_left(self.rows, line, key=attrgetter("line"))
                if i == len(self.rows) or self.rows[i].line != line:
                    continue
                code = self.rows[i].code
            if _CODE.fullmatch(code):
                codes.add(code)
        return codes


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


# --- files -------------------------------------------------------------------------------


def read_roster(
    path: Path, campaign: Campaign, *, known_villages: Collection[str] = ()
) -> RosterResult:
    """Read a .csv or .xlsx roster and check every row; never raises on bad content.

    known_villages are village codes already registered, which cells may refer to without
    the village being listed again in this file.
    """
    source = str(path)

    def fail(message: str, where: str = "") -> RosterResult:
        return RosterResult([], [Problem(source, where, message)], set())

    problem = preflight(path, "名册", _q(path.suffix or "（无扩展名）"))
    if problem is not None:
        return fail(problem)
    suffix = path.suffix.lower()
    try:
        with _cyclic_gc_paused():
            if suffix == ".csv":
                return _read_csv(path, source, campaign, known_villages)
            return _read_xlsx(path, source, campaign, known_villages)
    except OSError as exc:
        return fail(f"无法读取文件：{exc.strerror or exc}")


@contextmanager
def _cyclic_gc_paused() -> Iterator[None]:
    # A million RosterRows are a million GC-tracked objects that nothing ever frees
    # cyclically, yet every full collection walks them all: on a large roster the
    # collector cost more than all the checks together. Nothing here builds cycles, and
    # reference counting still frees everything else as usual.
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _read_csv(
    path: Path, source: str, campaign: Campaign, known_villages: Collection[str]
) -> RosterResult:
    encoding = detect_encoding(path)
    if encoding is None:
        message = (
            "无法识别文件编码：既不是 UTF-8，也不是 GBK/GB18030；"
            "请在 Excel 中另存为“CSV UTF-8（逗号分隔）”"
        )
        return RosterResult([], [Problem(source, "", message)], set())
    checker = _Checker(source, "", campaign, known_villages, letters=False)
    with path.open(encoding=encoding, newline="") as fh:
        reader = csv.reader(fh)

        def consume() -> None:
            while True:
                try:
                    checker.consume(reader)
                    return
                except csv.Error as exc:
                    # The reader resumes with the next record: one bad record, one row lost.
                    checker.line += 1
                    detail = (
                        "有单元格内容过长，无法读取"
                        if "field limit" in str(exc)
                        else f"CSV 格式错误（{exc}）"
                    )
                    checker.add(checker.line, _ROW_LEVEL, detail)

        try:
            return _check(checker, consume)
        except UnicodeDecodeError:
            # Only if the file changed after its encoding was checked.
            checker.note(checker.line, "", "文件在读取过程中被修改，请重新上传")
            return checker.result(keep_rows=False)


def _check(checker: _Checker, consume: Callable[[], None]) -> RosterResult:
    try:
        consume()
        return checker.finish()
    except _Stop as stop:
        if stop.args:
            return RosterResult([], [Problem(checker.source, "", str(stop.args[0]))], set())
        return checker.result(keep_rows=False)


class _Unreadable(Exception):
    """openpyxl failed part-way through a sheet."""


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        # A mobile typed as a number arrives as 13800138000.0 or from "1.38E10"; both
        # must come back as the digits, never as "1.38e+10".
        if value.is_integer():
            return str(int(value))
        return repr(value)
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date | time):
        return value.isoformat()
    return str(value)


def _xlsx_rows(rows: Iterator[tuple[Any, ...]]) -> Iterator[list[str]]:
    while True:
        try:
            values = next(rows)
        except StopIteration:
            return
        # Only openpyxl runs inside next(); see _read_xlsx on why anything it raises counts.
        except Exception as exc:
            raise _Unreadable from exc
        yield [v if type(v) is str else _cell_text(v) for v in values]


def _read_xlsx(
    path: Path, source: str, campaign: Campaign, known_villages: Collection[str]
) -> RosterResult:
    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    # openpyxl lets zipfile, XML, KeyError and its own errors through unwrapped; to the
    # operator they all mean the same thing.
    except Exception:
        return RosterResult(
            [],
            [Problem(source, "", "无法打开 Excel 文件：文件已损坏或不是 .xlsx 格式")],
            set(),
        )
    try:
        if not book.worksheets:
            return RosterResult([], [Problem(source, "", "Excel 文件中没有工作表")], set())
        sheet = book.worksheets[0]
        checker = _Checker(source, f"工作表 {sheet.title} ", campaign, known_villages, letters=True)
        try:
            return _check(
                checker, lambda: checker.consume(_xlsx_rows(sheet.iter_rows(values_only=True)))
            )
        except _Unreadable:
            line = checker.line + 1
            checker.note(line, checker.where(line), "Excel 文件内容损坏，从本行起无法读取")
            return checker.result(keep_rows=False)
    finally:
        book.close()

"""The columns of a domain's score sheet, every header spelling that names them, and
where they are in one table."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from pingan.adapters.intake.scores.values import filled, number, veto
from pingan.core.campaign import Campaign, Domain

Kind = Literal["fixed", "c", "d", "v"]


@dataclass(frozen=True)
class Column:
    id: str  # machine key, as in the template's hidden third row
    header: str  # Chinese header the template writes
    label: str  # short name used in problem locations
    kind: Kind
    key: str  # rubric key for c/d/v columns
    width: float


CODE = Column("code", "单位编码", "单位编码", "fixed", "", 14)
NAME = Column("name", "单位名称", "单位名称", "fixed", "", 28)
VILLAGE = Column("village", "村（社区）", "村（社区）", "fixed", "", 14)
ASSESSOR = Column("assessor", "考核人", "考核人", "fixed", "", 12)
DATE = Column("assessed_on", "考核日期", "考核日期", "fixed", "", 13)
NOTE = Column("note", "备注", "备注", "fixed", "", 30)
DOMAIN = Column("domain", "领域", "领域", "fixed", "", 12)
TOTAL = "total"
PASSED = "passed"
# Spellings a team is likely to type when it rebuilds a header by hand.
_FIXED_ALIASES: dict[str, tuple[str, ...]] = {
    TOTAL: ("总分", "得分合计", "合计"),
    PASSED: ("是否达标", "达标"),
    "code": ("编码", "单位代码"),
    "name": ("名称",),
    "village": ("村社区", "所属村社区", "所属村（社区）"),
    "assessor": ("考核人员", "验收人"),
    "assessed_on": ("验收日期", "日期"),
    "note": ("说明",),
    "domain": ("所属领域", "领域名称"),
}


def num(x: float) -> str:
    """10.0 → "10", 2.5 → "2.5": headers read as the rubric was written."""
    return f"{round(x, 2):.2f}".rstrip("0").rstrip(".")


def norm(text: str) -> str:
    # NFKC folds full-width brackets, colons and digits, which WPS and Chinese IMEs type as
    # often as half-width ones; spaces inside a header are never meaningful.
    return "".join(unicodedata.normalize("NFKC", text).split()).lower()


CODE_HEADERS = frozenset(norm(a) for a in ("code", CODE.header, *_FIXED_ALIASES["code"]))


def columns(domain: Domain) -> list[Column]:
    r = domain.rubric
    return [
        CODE,
        NAME,
        VILLAGE,
        *(
            Column(f"c:{c.key}", f"{c.name}（满分 {num(c.points)}）", c.name, "c", c.key, 14)
            for c in r.criteria
        ),
        *(
            Column(
                f"d:{d.key}",
                f"{d.name}（次数，每次扣 {num(d.points_each)} 分，最多 {num(d.max_points)} 分）",
                d.name,
                "d",
                d.key,
                16,
            )
            for d in r.deductions
        ),
        *(
            Column(
                f"v:{v.key}", f"一票否决：{v.name}（是/否）", f"一票否决：{v.name}", "v", v.key, 14
            )
            for v in r.vetoes
        ),
        ASSESSOR,
        DATE,
        NOTE,
    ]


def worked_out(domain: Domain) -> list[Column]:
    """The template's 总分 and 是否达标, worked out by formulas as the team types; the
    reader knows them so as not to warn of them, and never reads them."""
    r = domain.rubric
    return [
        Column(TOTAL, f"总分（满分 {num(r.total)}）", "总分", "fixed", "", 11),
        Column(PASSED, f"是否达标（{num(r.pass_mark)} 分及以上）", "是否达标", "fixed", "", 12),
    ]


def sheet_columns(domain: Domain) -> list[Column]:
    """The template's columns: the inputs, with 总分 and 是否达标 before 考核人."""
    inputs = columns(domain)
    at = inputs.index(ASSESSOR)
    return [*inputs[:at], *worked_out(domain), *inputs[at:]]


# How check_sheet names an item of each kind in its messages.
_CHECK_LABELS = {"c": "评分项", "d": "扣分项"}


class Spec:
    """One domain's columns and every header spelling that names each of them."""

    def __init__(self, domain: Domain) -> None:
        self.domain = domain
        self.columns = columns(domain)
        known = (*self.columns, DOMAIN, *worked_out(domain))
        self.by_id = {c.id: c for c in known}
        self.required = [c for c in self.columns if c.kind != "fixed"] + [CODE, DATE]
        self.aliases: dict[str, str] = {}
        for c in known:
            for alias in (c.id, c.header, *_FIXED_ALIASES.get(c.id, ())):
                self.aliases[norm(alias)] = c.id
        # A bare item name is accepted only where it names one column: rubrics are free
        # text, and a guess between two columns would file a score under the wrong item.
        short: dict[str, set[str]] = {}
        for c in self.columns:
            if c.kind == "fixed":
                continue
            names = {c.label} | ({c.label.removeprefix("一票否决：")} if c.kind == "v" else set())
            for name in names:
                short.setdefault(norm(name), set()).add(c.id)
        for alias, ids in short.items():
            if len(ids) == 1 and alias not in self.aliases:
                self.aliases[alias] = next(iter(ids))
        # check_sheet words each problem with the item's key; this finds the column again.
        self.needles = [
            (f"{_CHECK_LABELS[c.kind]} {c.key}（", c)
            for c in self.columns
            if c.kind in _CHECK_LABELS
        ]

    def column_of(self, message: str) -> Column | None:
        for needle, column in self.needles:
            if needle in message:
                return column
        return None


_INVALID_TITLE = re.compile(r"[\\/*?:\[\]]")


def sheet_titles(campaign: Campaign) -> dict[str, str]:
    """Domain key → sheet title: the domain name, within Excel's rules for titles."""
    titles: dict[str, str] = {}
    used: set[str] = set()
    for d in campaign.domains:
        base = title = _INVALID_TITLE.sub("_", d.name)[:31].strip("'") or d.key[:31]
        n = 1
        while title.lower() in used:  # Excel compares sheet titles case-insensitively
            n += 1
            title = f"{base[:27]}_{n}"
        used.add(title.lower())
        titles[d.key] = title
    return titles


# --- layout ------------------------------------------------------------------------------


@dataclass
class Layout:
    """Where one domain's columns are in one table."""

    spec: Spec
    index: dict[str, int]
    missing: list[Column]
    # Columns of another domain's rubric: a CSV row of this domain must leave them empty.
    foreign: list[int] = field(default_factory=list)
    reported: bool = False

    def __post_init__(self) -> None:
        positions = [(c, self.index[c.id]) for c in self.spec.columns if c.id in self.index]
        self.criteria = [(c, i) for c, i in positions if c.kind == "c"]
        self.deductions = [(c, i) for c, i in positions if c.kind == "d"]
        self.vetoes = [(c, i) for c, i in positions if c.kind == "v"]
        self.criteria_at = [i for _, i in self.criteria]

    def at(self, column: Column) -> int:
        return self.index.get(column.id, -1)

    def blank(self, row: Sequence[Any]) -> bool:
        """Nothing assessed: no score, and no count or veto other than "did not happen".

        Zero counts and 否 are what a team copies down a whole column before it starts, so
        they do not make a row count as filled in.
        """
        if any(filled(row[i]) for i in self.criteria_at):
            return False
        for _, i in self.deductions:
            if filled(row[i]) and number(row[i]) != 0:
                return False
        return all(veto(row[i]) is False for _, i in self.vetoes)

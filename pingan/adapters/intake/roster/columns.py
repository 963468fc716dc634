"""The roster's columns, the header spellings accepted for them and the row types."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

from pingan.core.roster import Kind

(CODE, NAME, TYPE, DOMAIN, VILLAGE, CATEGORY, CONTACT, MOBILE, EMAIL, WECOM, DINGTALK, WEBHOOK) = (
    range(12)
)
ROW_LEVEL: Final = -1

# (English name, Chinese label used in locations, accepted header spellings)
COLUMNS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
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
LABELS = tuple(label for _, label, _ in COLUMNS)
REQUIRED = (CODE, NAME, TYPE)
COLUMN_LIST = "、".join(f"{zh}（{en}）" for en, zh, _ in COLUMNS)


def norm(text: str) -> str:
    # WPS and Chinese IMEs type full-width brackets as often as half-width ones.
    return text.strip().lower().replace("（", "(").replace("）", ")")


HEADER_ALIASES: dict[str, int] = {
    norm(alias): i for i, (en, zh, more) in enumerate(COLUMNS) for alias in (en, zh, *more)
}

KINDS: dict[str, Kind] = {
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
KIND_LABELS: dict[Kind, str] = {"cell": "创建单位", "village": "村社区", "unit": "单位"}


def kind_of(text: str) -> Kind | None:
    return KINDS.get(text) or KINDS.get(norm(text))


@dataclass(frozen=True, slots=True)
class Header:
    """What a header row says about the sheet's columns."""

    index: list[int]  # position in the sheet of each column, -1 when absent
    unknown: list[tuple[int, str]] = field(default_factory=list)  # (position, text)
    duplicated: list[tuple[int, str, int]] = field(default_factory=list)  # and first position
    unnamed: list[int] = field(default_factory=list)  # positions with an empty header

    def missing(self, columns: tuple[int, ...]) -> list[int]:
        return [c for c in columns if self.index[c] < 0]


def read_header(cells: list[str]) -> Header:
    header = Header([-1] * len(COLUMNS))
    index = header.index
    for i, raw in enumerate(cells):
        text = raw.strip()
        if not text:
            header.unnamed.append(i)
            continue
        column = HEADER_ALIASES.get(norm(text))
        if column is None:
            header.unknown.append((i, text))
        elif index[column] >= 0:
            header.duplicated.append((i, text, index[column]))
        else:
            index[column] = i
    return header

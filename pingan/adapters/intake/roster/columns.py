"""The roster's columns, the header spellings accepted for them and the row types."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

from pingan.core.roster import Kind

(CODE, NAME, TYPE, DOMAIN, VILLAGE, CATEGORY, CONTACT, MOBILE, EMAIL, WECOM, DINGTALK, WEBHOOK) = (
    range(12)
)
ROW_LEVEL: Final = -1
# A unit's persons (docs/roster.md section 2): the first person's columns are 联系人, 手机 and
# 邮箱 as before plus 职务, 企业微信账号 and 钉钉账号; persons 2 and 3 have the same six
# columns numbered (联系人2, 职务2, 手机2 …). Each group is in PERSON_FIELDS order.
PERSON_FIELDS = ("contact", "role", "mobile", "email", "wecom_user", "dingtalk_user")
MAX_PERSONS: Final = 3
ROLE, WECOM_USER, DINGTALK_USER = 12, 13, 14
FIRST_PERSON: Final = (CONTACT, ROLE, MOBILE, EMAIL, WECOM_USER, DINGTALK_USER)
# Column indices of persons 2 and 3, six each, in PERSON_FIELDS order.
NUMBERED_PERSONS: Final = tuple(
    tuple(range(15 + 6 * k, 21 + 6 * k)) for k in range(MAX_PERSONS - 1)
)
PERSONS: Final = (FIRST_PERSON, *NUMBERED_PERSONS)
_PERSON_LABELS = ("联系人", "职务", "手机", "邮箱", "企业微信账号", "钉钉账号")


def _numbered(n: int) -> tuple[tuple[str, str, tuple[str, ...]], ...]:
    """Person ``n``'s columns: 联系人2, 职务2 … (also 联系人2姓名, 联系人2手机 …)."""
    return tuple(
        (
            f"{en}{n}",
            f"{zh}{n}",
            (f"联系人{n}姓名",) if en == "contact" else (f"联系人{n}{zh}",),
        )
        for en, zh in zip(PERSON_FIELDS, _PERSON_LABELS, strict=True)
    )


# (English name, Chinese label used in locations, accepted header spellings)
COLUMNS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("code", "编码", ()),
    ("name", "名称", ()),
    ("type", "类型", ()),
    ("domain", "领域", ()),
    ("village", "所属村社区", ("村社区", "村(社区)", "所属村(社区)")),
    ("category", "类别", ()),
    ("contact", "联系人", ("姓名", "联系人1", "联系人1姓名")),
    ("mobile", "手机", ("手机号", "手机1", "联系人1手机")),
    ("email", "邮箱", ("邮箱1", "联系人1邮箱")),
    ("wecom", "企业微信机器人", ()),
    ("dingtalk", "钉钉机器人", ()),
    ("webhook", "推送地址", ()),
    ("role", "职务", ("角色", "职务/角色", "职务1", "联系人1职务")),
    ("wecom_user", "企业微信账号", ("企业微信userid", "企业微信账号1", "联系人1企业微信账号")),
    ("dingtalk_user", "钉钉账号", ("钉钉userid", "钉钉账号1", "联系人1钉钉账号")),
    *(column for n in range(2, MAX_PERSONS + 1) for column in _numbered(n)),
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

"""Who runs the campaign and how its documents speak of themselves (the organisation section).

Every people-facing text (messages, reports, certificates, public lists, bulletins) takes its
wording from ``Wording``, resolved once from the campaign: nothing in code assumes a level of
government. A short section (name and level) is enough; every other phrase is derived from
the level and may be overridden in the YAML.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated

from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    from pingan.core.campaign.model import Campaign

Phrase = Annotated[str, Field(min_length=1, max_length=60)]

# Levels whose units are grouped by township rather than by village or community.
_COUNTY_LEVELS = frozenset({"县", "区", "市", "县级市", "旗"})
_DEPARTMENT = "部门"


class Organisation(BaseModel):
    """The body that runs the campaign, e.g. ``{name: 滨江区, level: 区}``."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    name: Annotated[str, Field(min_length=1, max_length=100)]
    level: Annotated[str, Field(min_length=1, max_length=6)]
    short: Annotated[str, Field(max_length=60)] | None = Field(
        default=None, description="名称去掉层级，如 滨江"
    )
    whole: Phrase | None = Field(default=None, description="自称，默认“全{level}”")
    coordinator: Phrase | None = Field(default=None, description="对外称呼协调机构")
    grouping: Phrase | None = Field(default=None, description="创建单位的分组：村（社区）、乡镇…")
    own_units: Phrase | None = Field(default=None, description="本级各单位的统称")
    direct: Phrase | None = Field(default=None, description="不属任何分组的单位的统称")


@dataclass(frozen=True)
class Wording:
    """The resolved phrases every renderer uses (see docs/campaign.md, organisation)."""

    name: str  # 滨江区
    level: str  # 区
    short: str  # 滨江
    whole: str  # 全区
    coordinator: str  # 区综治委: how the campaign's own texts name the coordinating body
    coordinator_formal: str  # 滨江区综治委: on certificates and lists read outside
    office: str  # 区综治中心: who signs messages and compiles reports
    grouping: str  # 乡镇: what cells are grouped by (the roster's village column)
    own_units: str  # 区各单位: lead and participating units, under no grouping
    direct: str  # 区直属单位: the heading of units that belong to no grouping

    def formal(self, name: str) -> str:
        """ "区教育局" reads as "滨江区教育局" outside the district; other names unchanged."""
        if (
            self.short
            and self.level
            and name.startswith(self.level)
            and not name.startswith(self.name)
        ):
            return f"{self.short}{name}"
        return name

    def target_label(self, target: str) -> str:
        """Who a ladder rung tells, in words: the coordinator by its own name."""
        return {"contact": "责任单位", "lead": "牵头单位"}.get(target, self.coordinator)

    def as_context(self) -> dict[str, str]:
        """The template variable ``org``."""
        return {
            "name": self.name,
            "level": self.level,
            "short": self.short,
            "whole": self.whole,
            "coordinator": self.coordinator,
            "coordinator_formal": self.coordinator_formal,
            "office": self.office,
            "grouping": self.grouping,
            "own_units": self.own_units,
            "direct": self.direct,
        }


def default_grouping(level: str) -> str:
    if level in _COUNTY_LEVELS:
        return "乡镇"
    if level == _DEPARTMENT:
        return "下属单位"
    return "村（社区）"


def wording(c: Campaign) -> Wording:
    """The campaign's phrases: the organisation section, with every gap derived."""
    office = c.coordinator.office.name if c.coordinator.office else c.coordinator.name
    o = c.organisation
    if o is None:  # no section: neutral phrases, never a guessed level
        return Wording(
            name=c.issuer,
            level="",
            short=c.award.prefix,
            whole="全部",
            coordinator=c.coordinator.name,
            coordinator_formal=c.coordinator.name,
            office=office,
            grouping="村（社区）",
            own_units="本级各单位",
            direct="直属单位",
        )
    department = o.level == _DEPARTMENT
    short = o.short if o.short is not None else o.name.removesuffix(o.level)
    w = Wording(
        name=o.name,
        level=o.level,
        short=short if short != o.name else "",
        whole=o.whole or ("全系统" if department else f"全{o.level}"),
        coordinator=c.coordinator.name,
        coordinator_formal=c.coordinator.name,
        office=office,
        grouping=o.grouping or default_grouping(o.level),
        own_units=o.own_units or ("机关各单位" if department else f"{o.level}各单位"),
        direct=o.direct or ("直属单位" if department else f"{o.level}直属单位"),
    )
    formal = o.coordinator or w.formal(c.coordinator.name)
    return Wording(**{**w.__dict__, "coordinator_formal": formal})

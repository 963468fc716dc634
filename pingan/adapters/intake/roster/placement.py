"""Where a row sits in the campaign: its domain, village and category, by the row's kind."""

from __future__ import annotations

from collections.abc import Collection

from pingan.adapters.intake.roster.columns import (
    CATEGORY,
    DOMAIN,
    KIND_LABELS,
    LABELS,
    VILLAGE,
)
from pingan.adapters.intake.roster.rules import quote
from pingan.core.campaign import Campaign
from pingan.core.roster import Kind

# (kind, domain, category, has village): what the columnar screen asks about a row.
ComboKey = tuple[Kind | None, str, str, bool]


class Placement:
    """The campaign's domains and categories, and the rules tying them to a row's kind."""

    def __init__(self, campaign: Campaign) -> None:
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
        # ComboKey -> domain key ("" for villages), or None when the row check must look
        # at the row; a roster has only a handful of combinations.
        self.combos: dict[ComboKey, str | None] = {}

    def check(
        self,
        kind: Kind | None,
        domain: str,
        village: str,
        category: str,
        skip: Collection[int] = (),
    ) -> tuple[str | None, list[tuple[int, str]]]:
        """The domain key of a row and its (column, problem) pairs.

        ``skip`` are columns emptied because they were too long: their being empty is
        already reported.
        """
        if kind == "cell":
            return self._cell(domain, village, category, skip)
        problems: list[tuple[int, str]] = []
        if kind is not None:
            for column, value in ((DOMAIN, domain), (VILLAGE, village), (CATEGORY, category)):
                if value:
                    problems.append(
                        (
                            column,
                            f"{KIND_LABELS[kind]}行不应填写{LABELS[column]}"
                            f"（当前为 {quote(value)}），领域、所属村社区、类别仅适用于创建单位",
                        )
                    )
        return None, problems

    def _cell(
        self, domain: str, village: str, category: str, skip: Collection[int]
    ) -> tuple[str | None, list[tuple[int, str]]]:
        problems: list[tuple[int, str]] = []
        domain_key: str | None = None
        if not domain:
            if DOMAIN not in skip:
                problems.append((DOMAIN, "创建单位须填写领域"))
        else:
            domain_key = self.domains.get(domain) or self.domains.get(domain.lower())
            if domain_key is None:
                problems.append(
                    (DOMAIN, f"领域 {quote(domain)} 不存在，可选：{self.domain_choices}")
                )
        if not village and VILLAGE not in skip:
            problems.append((VILLAGE, "创建单位须填写所属村社区（村社区的编码）"))
        if category and domain_key is not None and category not in self.categories[domain_key]:
            problems.append(
                (
                    CATEGORY,
                    f"类别 {quote(category)} 不属于{self.domain_names[domain_key]}，"
                    f"可选：{self.category_choices[domain_key]}",
                )
            )
        return domain_key, problems

    def combo(self, key: ComboKey, village: str) -> str | None:
        """The domain key ("" for a village) if the screen may pass such rows, else None.

        ``village`` is the village of one row with this key; whether the row check finds a
        problem depends only on the key. Unit rows always get None: they are few, and the
        row check compares them with the campaign's units.
        """
        kind, domain, category, _ = key
        result: str | None = None
        if kind in ("cell", "village"):
            domain_key, problems = self.check(kind, domain, village, category)
            if not problems:
                result = domain_key or ""
        self.combos[key] = result
        return result

"""The organisation's phrases read as the campaign's own: its name ends with its level
unless a short name is given (the short name prefixes the units' names on certificates)."""

from __future__ import annotations

from pingan.core.campaign.model import Campaign
from pingan.core.campaign.rules.common import Findings


def organisation(c: Campaign) -> Findings:
    o = c.organisation
    if o is None:
        return
    if o.short is None and o.level != "部门" and not o.name.endswith(o.level):
        yield (
            "organisation.short",
            f"名称“{o.name}”不以层级“{o.level}”结尾，无法推出简称；请写明 short（如“滨江”），"
            '不需要简称的写 short: ""',
        )
    if o.short and not o.name.startswith(o.short):
        yield "organisation.short", f"简称“{o.short}”应为名称“{o.name}”的开头部分"

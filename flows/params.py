"""The flows' shared run parameters, flat and typed (issue 16).

Every flow takes top-level parameters, so a deployment run with ``-p as_of=…`` keeps the
deployment's ``campaign`` (Prefect merges run parameters shallowly: a nested model would be
replaced whole, silently falling back to its defaults). ``campaign`` has no default: it
comes from the deployment or the person starting the run. Titles and descriptions are the
Chinese labels of the run form in the Prefect UI; ``date | None`` gives the date picker.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from pydantic import Field


def zh(title: str, description: str | None = None, **constraints: Any) -> Any:
    """A parameter's Chinese label for the run form. Prefect titles every parameter with its
    name and keeps only ``json_schema_extra`` of an annotated Field, so the label goes there
    as well (pydantic writes it over the generated title)."""
    labels: dict[str, Any] = {"title": title}
    if description:
        labels["description"] = description
    return Field(title=title, description=description, json_schema_extra=labels, **constraints)


CampaignParam = Annotated[
    str,
    zh("创建活动编码", "活动配置中的 code，如 xucheng-2017；从部署运行时已填好", min_length=1),
]
AsOfParam = Annotated[date | None, zh("计算日期", "留空为活动时区的今天")]
ActorParam = Annotated[str, zh("操作人", "记入审计日志", min_length=1)]

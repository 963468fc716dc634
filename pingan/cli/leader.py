"""`pingan leader-link`: a signed, read-only link to the leader's live view in the portal."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated
from zoneinfo import ZoneInfo

import typer

from pingan.cli.common import ActorOption, CampaignArg, DbOption, _actor, _engine, friendly, out


@friendly
def leader_link(
    campaign: CampaignArg,
    domain: Annotated[
        str | None,
        typer.Option("--domain", help="领域键：给该领域牵头单位的链接；不填则给综治委（全部领域）"),
    ] = None,
    days: Annotated[int, typer.Option("--days", help="有效天数（1–366）")] = 30,
    db: DbOption = None,
    actor: ActorOption = None,
) -> None:
    """生成领导查看创建进展的只读链接（手机可用；签发记入审计日志，更换密钥即全部作废）。"""
    from pingan.root import settings as current_settings
    from pingan.services.leader_links import issue_leader_link
    from pingan.services.tick import open_campaign

    engine = _engine(db)
    handle = open_campaign(engine, campaign)
    link = issue_leader_link(
        engine,
        handle,
        current_settings(),
        domain=domain,
        days=days,
        now=datetime.now(UTC),
        actor=_actor(actor),
    )
    until = link.expires_at.astimezone(ZoneInfo(handle.campaign.timezone))
    out.print(f"{link.scope}的只读进展链接（有效期至 {until:%Y-%m-%d %H:%M}）：", markup=False)
    out.print(link.url, markup=False, soft_wrap=True)

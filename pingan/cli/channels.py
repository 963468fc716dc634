"""`pingan channels`: every channel, its limits, and whether it is ready to send."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from pingan.cli.common import friendly, out


def register(app: typer.Typer) -> None:
    app.command()(channels)


@friendly
def channels(
    config: Annotated[
        Path | None,
        typer.Option("--config", help="创建活动配置文件（YAML），用于检查短信、应用消息等个人渠道"),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="以 JSON 输出")] = False,
) -> None:
    """列出各发送渠道：限额，以及是否就绪（已配置、所需密钥齐全）；未就绪的写明缺什么。"""
    from pingan.core.campaign import load_campaign
    from pingan.root import container
    from pingan.root.settings import ChannelOverride
    from pingan.services.channel_status import Deployment, channel_statuses

    c = container()
    s = c.settings
    campaign = load_campaign(config) if config is not None else None
    deployment = Deployment(
        smtp=s.smtp_settings(),
        smtp_ref=s.smtp_ref,
        file_override=s.channel_override is ChannelOverride.FILE,
        robot_rate_per_minute=(
            campaign.notifications.robot_rate_per_minute if campaign is not None else 20
        ),
    )
    rows = channel_statuses(
        deployment, campaign.channels if campaign else None, c.secret_resolver()
    )
    if as_json:
        data = [r.as_json() for r in rows]
        out.print(json.dumps(data, ensure_ascii=False, indent=2), markup=False, soft_wrap=True)
        return
    table = Table(title="发送渠道", show_lines=False)
    for header in ("渠道", "名称", "状态", "限额", "说明"):
        table.add_column(header, overflow="fold")
    for r in rows:
        state = "就绪" if r.ready else ("未配置" if not r.configured else "未就绪")
        detail = "；".join(r.missing) if r.missing else r.note
        table.add_row(r.channel, r.label, state, r.limits_zh, detail)
    out.print(table)

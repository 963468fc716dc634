"""`pingan demo`: the seed campaign from plan to plaque on a synthetic roster."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from pingan.cli.common import (
    err,
    friendly,
    out,
)


def register(app: typer.Typer) -> None:
    app.command()(demo)


# --- demo ------------------------------------------------------------------------------------


@friendly
def demo(
    out_dir: Annotated[Path, typer.Option("--out", metavar="目录", help="输出目录")] = Path(
        ".pingan/demo"
    ),
    cells: Annotated[
        int, typer.Option("--cells", min=10, metavar="数量", help="虚构创建单位数量")
    ] = 2000,
    seed: Annotated[
        int, typer.Option("--seed", metavar="整数", help="随机种子（同一种子结果相同）")
    ] = 2017,
    smtp: Annotated[
        str | None,
        typer.Option(
            "--smtp",
            metavar="主机:端口",
            help="同时把每条通知发到本地 SMTP 服务器，如 127.0.0.1:1025",
        ),
    ] = None,
    campaign: Annotated[
        str | None,
        typer.Option(
            "--campaign",
            metavar="配置文件或活动编码",
            help="活动配置文件路径，或 config/campaigns/ 中的活动编码（默认为种子活动）",
        ),
    ] = None,
) -> None:
    """演示：用虚构名册走完一个创建活动（默认为种子活动），从制定方案到命名挂牌。"""
    from pingan.core.campaign import load_campaign
    from pingan.demo.run import run_demo
    from pingan.demo.server import ServerUnavailable
    from pingan.demo.walk import campaign_file

    config = campaign_file(campaign)
    load_campaign(config)  # a missing or invalid file stops here, with its problems listed
    try:
        run_demo(out_dir, cells=cells, seed=seed, console=out, smtp=smtp, config=config)
    except ServerUnavailable as exc:
        err.print(str(exc), markup=False, soft_wrap=True)
        raise typer.Exit(1) from None

"""`pingan dispatch`, `pingan outbox` (and `outbox retry`)."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy import Engine

from pingan.cli.common import (
    CampaignArg,
    DbOption,
    _engine,
    err,
    friendly,
    out,
    progress_bar,
)
from pingan.core.problems import InputError, Problem


def register(app: typer.Typer) -> None:
    app.command()(dispatch)
    app.command()(outbox)


@friendly
def dispatch(
    campaign: CampaignArg,
    ignore_quiet_hours: Annotated[
        bool, typer.Option("--ignore-quiet-hours", help="不受免打扰时段和非工作日限制，立即发送")
    ] = False,
    wait: Annotated[float, typer.Option("--wait", min=0, help="为等待限流窗口最多等待的秒数")] = 0,
    db: DbOption = None,
) -> None:
    """投递待发通知：按收件单位登记的渠道发送，失败按退避重试，超过上限放弃。"""
    from pingan.root import container
    from pingan.services.dispatch import run_dispatch
    from pingan.services.tick import open_campaign

    engine, c = _engine(db), container()
    handle = open_campaign(engine, campaign)
    with progress_bar("投递通知（条）") as progress:
        report = run_dispatch(
            engine,
            handle,
            c.delivery(),
            c.settings,
            now_fn=c.clock,
            respect_quiet_hours=not ignore_quiet_hours,
            wait_up_to_s=wait,
            progress=progress,
        )
    out.print(report.summary_zh(handle.campaign.timezone), markup=False)


@friendly
def outbox(
    first: Annotated[str, typer.Argument(help="创建活动编码；或 retry，重新排队")],
    rest: Annotated[
        list[str] | None, typer.Argument(help="retry 时：创建活动编码及投递编号")
    ] = None,
    state: Annotated[
        str | None, typer.Option("--state", help="只列出某一状态（queued、sent、failed、dead……）")
    ] = None,
    dead: Annotated[bool, typer.Option("--dead", help="retry 时：全部放弃的投递重新排队")] = False,
    limit: Annotated[
        int, typer.Option("--limit", min=1, max=1_000_000, help="最多列出的条数")
    ] = 100,
    as_json: Annotated[bool, typer.Option("--json", help="以 JSON 输出")] = False,
    db: DbOption = None,
) -> None:
    """查看通知投递情况：pingan outbox 活动编码 [--state dead]；
    重新投递：pingan outbox retry 活动编码 编号… 或 pingan outbox retry 活动编码 --dead。"""
    engine = _engine(db)
    if first == "retry":
        _retry(engine, list(rest or []), dead)
    else:
        _list(engine, first, state, limit, as_json)


def _retry(engine: Engine, args: list[str], dead: bool) -> None:
    from pingan.adapters.outbox import retry
    from pingan.services.tick import open_campaign

    if not args:
        raise InputError([Problem("参数", "CAMPAIGN", "请给出创建活动编码")])
    handle = open_campaign(engine, args[0])
    # ASCII only: str.isdigit also takes "٣" and "³"; 18 digits fit every database.
    bad = [a for a in args[1:] if not (a.isascii() and a.isdigit() and len(a) <= 18)]
    if bad or not (args[1:] or dead):
        raise InputError(
            [Problem("参数", "ID", f"投递编号应为数字：{a}") for a in bad]
            or [Problem("参数", "ID", "请给出投递编号，或使用 --dead")]
        )
    result = retry(engine, [int(a) for a in args[1:]], dead=dead, campaign_id=handle.campaign_id)
    out.print(
        f"已重新排队：投递 {result.deliveries} 条，通知 {result.notifications} 条",
        markup=False,
    )
    if result.not_found:
        err.print(f"以下编号不存在或不处于失败/放弃状态：{result.not_found}", markup=False)


def _list(engine: Engine, code: str, state: str | None, limit: int, as_json: bool) -> None:
    from pingan.adapters.outbox import list_outbox, outbox_counts
    from pingan.services.tick import open_campaign

    handle = open_campaign(engine, code)
    entries = list_outbox(engine, handle.campaign_id, state=state, limit=limit)
    counts = outbox_counts(engine, handle.campaign_id)
    if as_json:
        rows = [
            {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in e.__dict__.items()}
            for e in entries
        ]
        sys.stdout.write(
            json.dumps({"counts": counts, "entries": rows}, ensure_ascii=False, indent=1) + "\n"
        )
        return
    table = Table(title=f"{code} 通知投递（{len(entries)} 条）")
    for col in ("编号", "类型", "收件单位", "渠道", "地址", "状态", "次数", "最近错误"):
        table.add_column(col)
    for e in entries:
        table.add_row(
            str(e.delivery_id or "—"),
            e.kind,
            e.recipient_name,
            e.channel or "—",
            e.address or "—",
            e.state,
            str(e.attempts),
            (e.last_error or "")[:60],
        )
    out.print(table)
    out.print("  ".join(f"{k}：{v}" for k, v in counts.items()), markup=False)

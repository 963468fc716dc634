"""`pingan dispatch`, `pingan outbox list` (the default) and `pingan outbox retry`."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table
from sqlalchemy import Engine
from typer._click.core import Context
from typer.core import TyperGroup

from pingan.cli.common import (
    CampaignArg,
    DbOption,
    JsonOption,
    _engine,
    emit_json,
    err,
    friendly,
    out,
    progress_bar,
)
from pingan.core.labels import CHANNELS, DELIVERY_STATES, MESSAGE_KINDS, label
from pingan.core.problems import InputError, Problem

if TYPE_CHECKING:
    from pingan.adapters.outbox.report import DispatchReport
    from pingan.cli.through_prefect import FlowRun


class OutboxGroup(TyperGroup):
    """`pingan outbox 活动编码 …` lists (the `list` subcommand is implied); `pingan outbox
    retry …` re-queues."""

    def parse_args(self, ctx: Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ctx.help_option_names:
            args = ["list", *args]
        return super().parse_args(ctx, args)


outbox_app = typer.Typer(
    cls=OutboxGroup,
    help="通知投递情况：列出投递记录（pingan outbox 活动编码 即 list），或重新投递失败的通知。",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    app.command()(dispatch)
    app.add_typer(outbox_app, name="outbox")


@friendly
def dispatch(
    campaign: CampaignArg,
    ignore_quiet_hours: Annotated[
        bool, typer.Option("--ignore-quiet-hours", help="不受免打扰时段和非工作日限制，立即发送")
    ] = False,
    wait: Annotated[
        float, typer.Option("--wait", min=0, metavar="秒数", help="为等待限流窗口最多等待的秒数")
    ] = 0,
    as_json: JsonOption = False,
    db: DbOption = None,
) -> None:
    """投递待发通知：按收件单位登记的渠道发送，失败按退避重试，超过上限放弃。

    有待发通知却一条也未能发出（全部失败、放弃或缺少联系方式）时退出码为 1。
    设置了 PREFECT_API_URL 时以 pingan-dispatch 流程运行的方式执行，记入 Prefect 运行历史。"""
    from pingan.cli.through_prefect import api_url, run_flow

    if api_url():
        from flows.dispatch import dispatch as dispatch_flow

        run = run_flow(
            dispatch_flow,
            db,
            campaign=campaign,
            respect_quiet_hours=not ignore_quiet_hours,
            wait_up_to_s=wait,
        )
        _report_dispatch(campaign, _report_of(run.output), as_json, run, db)
        return
    _report_dispatch(
        campaign, _dispatch_here(campaign, ignore_quiet_hours, wait, db), as_json, None, db
    )


def _dispatch_here(
    campaign: str, ignore_quiet_hours: bool, wait: float, db: str | None
) -> DispatchReport:
    from pingan.root import container
    from pingan.services.dispatch import run_dispatch
    from pingan.services.tick import open_campaign

    engine, c = _engine(db), container()
    handle = open_campaign(engine, campaign)
    with progress_bar("投递通知（条）") as progress:
        return run_dispatch(
            engine,
            handle,
            c.delivery(),
            c.settings,
            now_fn=c.clock,
            respect_quiet_hours=not ignore_quiet_hours,
            wait_up_to_s=wait,
            progress=progress,
        )


def _report_of(output: Any) -> DispatchReport:
    """The dispatch flow's output (flows.outputs.DeliveryOutput) as the report it was made of."""
    from pingan.adapters.outbox.report import DispatchReport

    fields = output.model_dump()
    for k in ("quiet_until", "next_due_at"):
        fields[k] = datetime.fromisoformat(fields[k]) if fields[k] else None
    return DispatchReport(**fields)


def _timezone(campaign: str, db: str | None = None) -> str:
    """The campaign's time zone, for the times a person reads in the summary line."""
    from pingan.services.tick import open_campaign

    return open_campaign(_engine(db), campaign).campaign.timezone


def _report_dispatch(
    campaign: str,
    report: DispatchReport,
    as_json: bool,
    run: FlowRun | None = None,
    db: str | None = None,
) -> None:
    """The run's figures (JSON or a Chinese line), where it was recorded, and exit code 1
    when there was something to send and nothing went out."""
    from pingan.cli.through_prefect import flow_run_json, say_where

    nothing_sent = report.sent == 0 and (report.failed + report.dead + report.no_contact) > 0
    if as_json:
        doc = {"campaign": campaign, **report.as_dict(), "nothing_sent": nothing_sent}
        doc |= report.local_times(_timezone(campaign, db))
        emit_json({**doc, "flow_run": flow_run_json(run)})
    else:
        out.print(report.summary_zh(_timezone(campaign, db)), markup=False)
    say_where(run, as_json)
    if nothing_sent:
        err.print("没有一条通知发送成功，请用 pingan outbox 查看失败原因。", markup=False)
        raise typer.Exit(1)


@outbox_app.command("list")
@friendly
def outbox_list(
    campaign: CampaignArg,
    state: Annotated[
        str | None,
        typer.Option(
            "--state",
            metavar="状态",
            help="只列出某一状态：" + " ".join(f"{k}（{v}）" for k, v in DELIVERY_STATES.items()),
        ),
    ] = None,
    limit: Annotated[
        int, typer.Option("--limit", min=1, max=1_000_000, metavar="条数", help="最多列出的条数")
    ] = 100,
    as_json: JsonOption = False,
    db: DbOption = None,
) -> None:
    """列出通知投递记录（最早的在前）及各状态条数。"""
    _list(_engine(db), campaign, state, limit, as_json)


@outbox_app.command("retry")
@friendly
def outbox_retry(
    campaign: CampaignArg,
    ids: Annotated[
        list[str] | None, typer.Argument(metavar="投递编号", help="要重新投递的投递编号，可多个")
    ] = None,
    dead: Annotated[bool, typer.Option("--dead", help="全部已放弃的投递重新排队")] = False,
    db: DbOption = None,
) -> None:
    """重新投递：把指定编号（或 --dead 全部已放弃）的失败投递重新排队，下次投递时发出。"""
    _retry(_engine(db), [campaign, *(ids or [])], dead)


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
        emit_json({"counts": counts, "entries": rows})
        return
    table = Table(title=f"{code} 通知投递（{len(entries)} 条）")
    for col in ("编号", "类型", "收件单位", "渠道", "地址", "状态", "次数", "最近错误"):
        table.add_column(col)
    for e in entries:
        table.add_row(
            str(e.delivery_id or "—"),
            label(MESSAGE_KINDS, e.kind),
            e.recipient_name,
            label(CHANNELS, e.channel),
            e.address or "—",
            label(DELIVERY_STATES, e.state),
            str(e.attempts),
            (e.last_error or "")[:60],
        )
    out.print(table)
    out.print(
        "  ".join(f"{label(DELIVERY_STATES, k)}：{v}" for k, v in counts.items()), markup=False
    )

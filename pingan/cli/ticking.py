"""`pingan tick`, `pingan status`, `pingan collect`, `pingan waive`."""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any

import typer

from pingan.cli.common import (
    ActorOption,
    AsOfOption,
    CampaignArg,
    DbOption,
    _actor,
    _as_of,
    _engine,
    err,
    friendly,
    out,
    progress_bar,
)


def register(app: typer.Typer) -> None:
    app.command()(tick)
    app.command()(status)
    app.command()(collect)
    app.command()(waive)


# --- tick, status, collect, waive ------------------------------------------------------------


@friendly
def tick(
    campaign: CampaignArg,
    as_of: AsOfOption = None,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="只显示将要发出的通知（按收件单位分组），不写入任何数据"),
    ] = False,
    db: DbOption = None,
) -> None:
    """每日巡检：计算各项报送义务的状态，安排截止前提醒和逾期逐级督办。"""
    from pingan.root import settings
    from pingan.services.tick import evaluate_and_plan, open_campaign, resolve_as_of

    engine = _engine(db)
    handle = open_campaign(engine, campaign)
    day = resolve_as_of(handle, _as_of(as_of))
    result = evaluate_and_plan(engine, handle, day, dry_run=dry_run, portal=settings())
    if dry_run:
        current = None
        for m in result.previews:
            if m.recipient_unit_id != current:
                current = m.recipient_unit_id
                out.rule(f"{m.recipient_name}（{m.recipient_code}）", style="dim")
            out.print(f"[{m.kind}] {m.subject}", markup=False)
            for route in result.routes.get(m.notification_id, []):
                out.print(f"  发送给：{route.describe()}", markup=False)
            out.print(m.body, markup=False, soft_wrap=True)
        out.print(f"（试运行，未写入数据库）共 {len(result.previews)} 条通知", markup=False)
    _print_tick(result)


def _print_tick(result: Any) -> None:
    p = result.plan
    o = result.status["obligations"]
    out.print(
        f"{result.as_of} 巡检{'（试运行）' if result.dry_run else ''}：提醒 {p.reminders} 条，"
        f"逾期督办 {p.escalations} 条，督办汇总 {p.digests} 份",
        markup=False,
    )
    out.print(
        f"  义务：未开始 {o['not_open']}，进行中 {o['open']}，临近截止 {o['due_soon']}，"
        f"逾期 {o['overdue']}，已完成 {o['done'] + o['done_late']}，已豁免 {o['waived']}",
        markup=False,
    )


@friendly
def status(
    campaign: CampaignArg,
    as_of: AsOfOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="以 JSON 输出")] = False,
    items: Annotated[
        bool,
        typer.Option(
            "--items",
            help="逐项列出报送义务（状态、截止日期、逾期工作日、督办级次、下一级及日期、最近通知）；"
            "与 --json 合用时每行一个 JSON 对象（JSON Lines）",
        ),
    ] = False,
    domain: Annotated[str | None, typer.Option("--domain", help="只列此领域（领域键）")] = None,
    village: Annotated[
        str | None, typer.Option("--village", help="只列此村（社区）（编码或名称）")
    ] = None,
    level: Annotated[int | None, typer.Option("--level", help="只列此督办级次")] = None,
    state: Annotated[
        str | None, typer.Option("--status", help="只列此状态，如 overdue、due_soon")
    ] = None,
    db: DbOption = None,
) -> None:
    """创建进度：覆盖率、达标率（分领域）、各状态义务数、通知投递情况。不改变任何数据。

    --items 逐项列出报送义务；与 --json 合用时每行一个 JSON 对象（JSON Lines）。"""
    from pingan.services.tick import current_status, open_campaign, resolve_as_of

    engine = _engine(db)
    handle = open_campaign(engine, campaign)
    day = resolve_as_of(handle, _as_of(as_of))
    filters = (domain, village, level, state)
    if items or any(f is not None for f in filters):
        _print_items(engine, handle, day, filters, as_json)
        return
    report = current_status(engine, handle, day)
    if as_json:
        sys.stdout.write(json.dumps(report, ensure_ascii=False, indent=2) + "\n")
        return
    from pingan.adapters.render.status_table import status_tables

    for renderable in status_tables(report):
        out.print(renderable)


def _print_items(
    engine: Any, handle: Any, day: Any, filters: tuple[Any, ...], as_json: bool
) -> None:
    """One line per item as it streams from the database: JSON Lines, or tab-separated text
    under a header."""
    from pingan.adapters.render.item_lines import ITEM_HEADER, item_line
    from pingan.services.tick import ItemFilter, status_items

    stream = status_items(engine, handle, day, ItemFilter(*filters))
    write = sys.stdout.write
    if not as_json:
        write(ITEM_HEADER + "\n")
    n = 0
    for item in stream:
        write((json.dumps(item, ensure_ascii=False) if as_json else item_line(item)) + "\n")
        n += 1
    if not as_json:
        err.print(f"截至 {day} 共 {n} 项", markup=False)


@friendly
def collect(
    campaign: CampaignArg,
    inbox: Annotated[
        str | None,
        typer.Option(
            "--inbox",
            help="报送目录（本地路径或可写的 fsspec 地址；zip://、http:// 等只读地址不受理）",
        ),
    ] = None,
    manifest: Annotated[
        bool, typer.Option("--manifest", help="--inbox 指向一份清单 CSV（path,kind,unit）而非目录")
    ] = False,
    mail: Annotated[
        bool, typer.Option("--mail", help="收取活动配置 mail_intake 所设邮箱中的报送邮件")
    ] = False,
    as_of: AsOfOption = None,
    db: DbOption = None,
) -> None:
    """收取报送材料：逐个检查文件，合格的存入证据库并登记，不合格的移入隔离区并说明原因。"""
    from pingan.core.problems import InputError, Problem
    from pingan.root import container
    from pingan.services.collect import collect_inbox
    from pingan.services.tick import open_campaign

    if inbox is None and not mail:
        raise InputError(
            [Problem("参数", "--inbox", "请指定 --inbox 报送目录，或 --mail 收取邮件")]
        )
    engine = _engine(db)
    handle = open_campaign(engine, campaign)
    if mail:
        _collect_mail(engine, handle, _as_of(as_of))
    if inbox is None:
        return
    with progress_bar("收取材料（文件）") as progress:
        report = collect_inbox(
            engine,
            handle,
            inbox,
            container().intake_stores(),
            manifest=manifest,
            as_of=_as_of(as_of),
            progress=progress,
        )
    _print_intake("收取完成", report)


def _collect_mail(engine: Any, handle: Any, as_of: Any) -> None:
    from pingan.root import container
    from pingan.services.mail import collect_mailbox

    c = container()
    with progress_bar("收取邮件（封）") as progress:
        report = collect_mailbox(
            engine, handle, c.intake_stores(), c.secret_resolver(), as_of=as_of, progress=progress
        )
    out.print(
        f"邮件：读取 {report.mails} 封，忽略 {report.ignored} 封，整封退回 {report.refused} 封，"
        f"已安排回执 {report.receipts} 份",
        markup=False,
    )
    _print_intake("邮件附件", report.files)


def _print_intake(label: str, report: Any) -> None:
    out.print(
        f"{label}：合格 {report.accepted} 份（其中逾期 {report.late} 份），"
        f"重复 {report.duplicates} 份，退回 {report.rejected} 份",
        markup=False,
    )
    for path, _code, reason in report.rejections[:50]:
        err.print(f"  退回 {path}：{reason}", markup=False, soft_wrap=True)
    for path, reason in report.waiting[:50]:
        err.print(f"  暂未收取 {path}：{reason}", markup=False, soft_wrap=True)
    if report.halted is not None:
        err.print(report.halted, markup=False, soft_wrap=True)
        raise typer.Exit(1)


@friendly
def waive(
    campaign: CampaignArg,
    gate: Annotated[str, typer.Option("--gate", help="事项键，如 self-check")],
    unit: Annotated[list[str], typer.Option("--unit", help="单位编码，可重复")],
    reason: Annotated[str, typer.Option("--reason", help="理由（记入审计日志）")],
    reopen: Annotated[bool, typer.Option("--reopen", help="撤销豁免，恢复该项义务")] = False,
    db: DbOption = None,
    actor: ActorOption = None,
) -> None:
    """豁免（或恢复）某些单位的某项报送义务，须写明理由，记入审计日志。"""
    from pingan.services.tick import open_campaign
    from pingan.services.tick import waive as do_waive

    engine = _engine(db)
    n = do_waive(
        engine,
        open_campaign(engine, campaign),
        gate_key=gate,
        unit_codes=unit,
        reason=reason,
        actor=_actor(actor),
        reopen=reopen,
    )
    out.print(f"已{'恢复' if reopen else '豁免'} {n} 项义务", markup=False)

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
    emit_json,
    err,
    friendly,
    out,
    progress_bar,
)
from pingan.core.gates import STATUS_LABELS
from pingan.core.labels import MESSAGE_KINDS, label


def register(app: typer.Typer) -> None:
    app.command()(tick)
    app.command()(status)
    app.command()(collect)
    app.command()(waive)


# --- tick, status, collect, waive ------------------------------------------------------------


JsonOption = Annotated[bool, typer.Option("--json", help="以 JSON 输出结果")]


@friendly
def tick(
    campaign: CampaignArg,
    as_of: AsOfOption = None,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="只显示将要发出的通知（按收件单位分组），不写入任何数据"),
    ] = False,
    no_dispatch: Annotated[
        bool,
        typer.Option("--no-dispatch", help="只安排通知，不随即投递（留待投递部署或下次巡检）"),
    ] = False,
    as_json: JsonOption = False,
    db: DbOption = None,
) -> None:
    """每日巡检：计算各项报送义务的状态，安排截止前提醒和逾期逐级督办，随即投递。

    设置了 PREFECT_API_URL 时以 pingan-tick 流程运行的方式执行，记入 Prefect 运行历史。"""
    from pingan.cli.through_prefect import api_url, recorded_line, run_flow, say_not_recorded

    day = _as_of(as_of)
    if api_url() and not dry_run:
        from flows.tick import tick as tick_flow

        run = run_flow(tick_flow, db, campaign=campaign, as_of=day, dispatch=not no_dispatch)
        _report_tick(run.output, as_json, {"name": run.name, "id": run.id})
        if not as_json:
            err.print(recorded_line(run), markup=False, soft_wrap=True)
        return
    output = _tick_here(campaign, day, dry_run, not no_dispatch, db, as_json)
    _report_tick(output, as_json, None)
    say_not_recorded(as_json)


def _tick_here(
    campaign: str, day: Any, dry_run: bool, dispatch: bool, db: str | None, as_json: bool
) -> Any:
    """The tick flow's work without Prefect: evaluate and plan, then deliver as it does."""
    from flows.outputs import DeliveryOutput, TickOutput
    from pingan.root import container
    from pingan.services.dispatch import run_dispatch
    from pingan.services.tick import evaluate_and_plan, open_campaign, resolve_as_of

    engine = _engine(db)
    handle = open_campaign(engine, campaign)
    c = container()
    result = evaluate_and_plan(
        engine, handle, resolve_as_of(handle, day), dry_run=dry_run, portal=c.settings
    )
    if dry_run and not as_json:
        _print_previews(result.previews, result.routes)
    delivery = None
    if dispatch and not dry_run:
        report = run_dispatch(engine, handle, c.delivery(), c.settings, now_fn=c.clock)
        delivery = DeliveryOutput.of(report)
    return TickOutput(
        as_of=result.as_of,
        dry_run=dry_run,
        reminders=result.plan.reminders,
        escalations=result.plan.escalations,
        digests=result.plan.digests,
        obligations=result.status["obligations"],
        delivery=delivery,
    )


def _print_previews(previews: Any, routes: Any) -> None:
    current = None
    for m in previews:
        if m.recipient_unit_id != current:
            current = m.recipient_unit_id
            out.rule(f"{m.recipient_name}（{m.recipient_code}）", style="dim")
        out.print(f"[{label(MESSAGE_KINDS, m.kind)}] {m.subject}", markup=False)
        for route in routes.get(m.notification_id, []):
            out.print(f"  发送给：{route.describe()}", markup=False)
        out.print(m.body, markup=False, soft_wrap=True)
    out.print(f"（试运行，未写入数据库）共 {len(previews)} 条通知", markup=False)


def _report_tick(output: Any, as_json: bool, flow_run: dict[str, str] | None) -> None:
    if as_json:
        emit_json({**output.model_dump(mode="json"), "flow_run": flow_run})
        return
    o = output.obligations
    out.print(
        f"{output.as_of} 巡检{'（试运行）' if output.dry_run else ''}：提醒 {output.reminders} 条，"
        f"逾期督办 {output.escalations} 条，督办汇总 {output.digests} 份",
        markup=False,
    )
    out.print(
        f"  义务：未开始 {o['not_open']}，进行中 {o['open']}，临近截止 {o['due_soon']}，"
        f"逾期 {o['overdue']}，已完成 {o['done'] + o['done_late']}，已豁免 {o['waived']}",
        markup=False,
    )
    d = output.delivery
    if d is not None:
        out.print(
            f"  投递：发送 {d.sent} 条，失败待重试 {d.failed} 条，放弃 {d.dead} 条，"
            f"顺延 {d.deferred} 条，限流顺延 {d.rate_limited} 条，无联系方式 {d.no_contact} 条",
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
    domain: Annotated[
        str | None, typer.Option("--domain", metavar="领域键", help="只列此领域（领域键）")
    ] = None,
    village: Annotated[
        str | None,
        typer.Option("--village", metavar="村（社区）", help="只列此村（社区）（编码或名称）"),
    ] = None,
    level: Annotated[
        int | None, typer.Option("--level", metavar="级次", help="只列此督办级次")
    ] = None,
    state: Annotated[
        str | None,
        typer.Option(
            "--status",
            metavar="状态",
            help="只列此状态：" + " ".join(f"{k}（{v}）" for k, v in STATUS_LABELS.items()),
        ),
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
        emit_json(report)
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
            metavar="目录或地址",
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
    as_json: JsonOption = False,
    db: DbOption = None,
) -> None:
    """收取报送材料：逐个检查文件，合格的存入证据库并登记，不合格的移入隔离区并说明原因。

    设置了 PREFECT_API_URL 时（--manifest 除外）以 pingan-collect 流程运行的方式执行。"""
    from pingan.cli.through_prefect import api_url, recorded_line, run_flow, say_not_recorded
    from pingan.core.problems import InputError, Problem

    if inbox is None and not mail:
        raise InputError(
            [Problem("参数", "--inbox", "请指定 --inbox 报送目录，或 --mail 收取邮件")]
        )
    day = _as_of(as_of)
    if api_url() and not manifest:
        from flows.collect import collect as collect_flow

        run = run_flow(collect_flow, db, campaign=campaign, inbox=inbox, mail=mail, as_of=day)
        counts = run.output.model_dump(mode="json")
        if as_json:
            doc = {**counts, "flow_run": {"name": run.name, "id": run.id}}
            emit_json(doc)
            return
        _print_counts("收取完成", counts)
        err.print(recorded_line(run), markup=False, soft_wrap=True)
        return
    reports = _collect_here(campaign, inbox, manifest, mail, day, db, as_json)
    if as_json:
        emit_json(_intake_json(reports))
    else:
        say_not_recorded(as_json)
    if any(r.halted is not None for r in reports):
        raise typer.Exit(1)


def _collect_here(
    campaign: str,
    inbox: str | None,
    manifest: bool,
    mail: bool,
    day: Any,
    db: str | None,
    as_json: bool,
) -> list[Any]:
    from pingan.root import container
    from pingan.services.collect import collect_inbox
    from pingan.services.tick import open_campaign

    engine = _engine(db)
    handle = open_campaign(engine, campaign)
    reports: list[Any] = []
    if mail:
        reports.append(_collect_mail(engine, handle, day, as_json))
    if inbox is None:
        return reports
    with progress_bar("收取材料（文件）") as progress:
        report = collect_inbox(
            engine,
            handle,
            inbox,
            container().intake_stores(),
            manifest=manifest,
            as_of=day,
            progress=progress,
        )
    if not as_json:
        _print_intake("收取完成", report)
    reports.append(report)
    return reports


def _intake_json(reports: list[Any]) -> dict[str, Any]:
    keys = ("accepted", "duplicates", "rejected", "late")
    doc: dict[str, Any] = {k: sum(getattr(r, k) for r in reports) for k in keys}
    doc["rejections"] = [
        {"path": str(path), "unit": code, "reason": reason}
        for r in reports
        for path, code, reason in r.rejections
    ]
    doc["waiting"] = [
        {"path": str(path), "reason": reason} for r in reports for path, reason in r.waiting
    ]
    doc["halted"] = next((r.halted for r in reports if r.halted is not None), None)
    doc["flow_run"] = None
    return doc


def _collect_mail(engine: Any, handle: Any, as_of: Any, as_json: bool) -> Any:
    from pingan.root import container
    from pingan.services.mail import collect_mailbox

    c = container()
    with progress_bar("收取邮件（封）") as progress:
        report = collect_mailbox(
            engine, handle, c.intake_stores(), c.secret_resolver(), as_of=as_of, progress=progress
        )
    if not as_json:
        out.print(
            f"邮件：读取 {report.mails} 封，忽略 {report.ignored} 封，"
            f"整封退回 {report.refused} 封，已安排回执 {report.receipts} 份",
            markup=False,
        )
        _print_intake("邮件附件", report.files)
    return report.files


def _print_counts(label: str, c: dict[str, Any]) -> None:
    out.print(
        f"{label}：合格 {c['accepted']} 份（其中逾期 {c['late']} 份），"
        f"重复 {c['duplicates']} 份，退回 {c['rejected']} 份",
        markup=False,
    )


def _print_intake(label: str, report: Any) -> None:
    keys = ("accepted", "duplicates", "rejected", "late")
    _print_counts(label, {k: getattr(report, k) for k in keys})
    for path, _code, reason in report.rejections[:50]:
        err.print(f"  退回 {path}：{reason}", markup=False, soft_wrap=True)
    for path, reason in report.waiting[:50]:
        err.print(f"  暂未收取 {path}：{reason}", markup=False, soft_wrap=True)
    if report.halted is not None:
        err.print(report.halted, markup=False, soft_wrap=True)


@friendly
def waive(
    campaign: CampaignArg,
    gate: Annotated[str, typer.Option("--gate", metavar="事项键", help="事项键，如 self-check")],
    unit: Annotated[
        list[str], typer.Option("--unit", metavar="单位编码…", help="单位编码，可重复")
    ],
    reason: Annotated[str, typer.Option("--reason", metavar="理由", help="理由（记入审计日志）")],
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

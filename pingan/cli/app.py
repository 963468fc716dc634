"""`pingan` command line. Thin: parses arguments, calls the core, prints in Chinese.

User mistakes (bad files, unknown campaign, unreachable database) end with one line per
problem and exit code 2 — never a traceback.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from pingan.cli.common import (
    ActorOption,
    AsOfOption,
    CampaignArg,
    DbOption,
    _actor,
    _as_of,
    _engine,
    _existing_file,
    err,
    friendly,
    out,
    progress_bar,
)
from pingan.core.problems import InputError, Problem

app = typer.Typer(
    help="pingan：平安细胞等创建活动的编排服务（方案 → 实施 → 自查 → 验收 → 命名挂牌）。",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="数据库维护。", no_args_is_help=True)
assess_app = typer.Typer(
    help="考核验收评分：生成评分表、导入评分（含复查）。", no_args_is_help=True
)
roster_app = typer.Typer(help="名册工具。", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(roster_app, name="roster")
app.add_typer(assess_app, name="assess")


# --- validate -----------------------------------------------------------------------------


@app.command()
@friendly
def validate(
    config: Annotated[Path, typer.Argument(help="创建活动配置文件（YAML）")],
) -> None:
    """检查创建活动配置：字段、日期、单位与领域引用、评分细则、工作日历覆盖的年份。"""
    from pingan.core.campaign import load_campaign

    c = load_campaign(config)
    gates = "、".join(f"{g.name[:12]}（{g.due_on:%m-%d}）" for g in c.gates)
    out.print(f"配置有效：{c.name}", markup=False)
    out.print(
        f"  印发：{c.issuer} {c.issued_on}；时区 {c.timezone}；工作日历 {c.calendar.mode}",
        markup=False,
    )
    out.print(
        f"  {len(c.domains)} 个领域（{'、'.join(d.name for d in c.domains)}），"
        f"{len(c.phases)} 个阶段（{c.starts_on} 至 {c.ends_on}），{len(c.gates)} 个报送事项",
        markup=False,
    )
    out.print(f"  事项：{gates}", markup=False)
    out.print(
        f"  目标：覆盖率 {c.targets.coverage:.0%}，达标率 {c.targets.pass_rate:.0%}；"
        f"逐级督办 {'→'.join(f'{s.after}日{s.notify}' for s in c.escalation.ladder)}",
        markup=False,
    )
    assumed = [p.name for p in c.phases if p.assumed] + [g.name[:12] for g in c.gates if g.assumed]
    if assumed:
        out.print(f"  系统默认值（原文未规定）：{'、'.join(assumed)}", markup=False)


# --- db -----------------------------------------------------------------------------------


@db_app.command("upgrade")
@friendly
def db_upgrade(db: DbOption = None) -> None:
    """把数据库结构升级到最新版本（可重复执行）。"""
    from pingan.adapters.db.session import current_revision, upgrade

    engine = _engine(db)
    upgrade(engine)
    out.print(
        f"数据库已是最新结构（版本 {current_revision(engine)}）：{engine.url!r}", markup=False
    )


# --- load ---------------------------------------------------------------------------------


@app.command()
@friendly
def load(
    config: Annotated[Path, typer.Argument(help="创建活动配置文件（YAML）")],
    roster: Annotated[
        Path | None, typer.Option("--roster", help="名册文件（CSV 或 XLSX），格式见 docs/roster.md")
    ] = None,
    skip_invalid: Annotated[
        bool, typer.Option("--skip-invalid", help="跳过有问题的行，导入其余各行（问题行照常报告）")
    ] = False,
    db: DbOption = None,
    actor: ActorOption = None,
) -> None:
    """导入（或更新）创建活动及名册，并生成各单位的报送义务。"""
    from pingan.services.load import load as do_load

    if roster is not None:
        _existing_file(roster, "名册文件")
    with progress_bar("导入活动与名册（步骤）") as progress:
        result = do_load(
            _engine(db),
            config,
            roster,
            skip_invalid=skip_invalid,
            actor=_actor(actor),
            progress=progress,
        )
    s = result.summary
    out.print(f"已导入创建活动 {result.campaign.code}（{result.campaign.name}）", markup=False)
    if result.roster is not None:
        out.print(
            f"  名册：新增 {s.added}，变更 {s.changed}，撤销 {s.withdrawn}，恢复 {s.reactivated}，"
            f"联系人写入 {s.contacts_written}",
            markup=False,
        )
        if result.roster.problems:
            for p in result.roster.problems:
                err.print(str(p), markup=False, soft_wrap=True)
            err.print(
                f"已跳过 {len(result.roster.invalid_lines)} 行有问题的记录（--skip-invalid）。",
                markup=False,
            )
    out.print(f"  新生成报送义务 {result.obligations_created} 项", markup=False)


# --- roster synth ------------------------------------------------------------------------


@roster_app.command("synth")
@friendly
def roster_synth(
    config: Annotated[Path, typer.Argument(help="创建活动配置文件（YAML）")],
    cells: Annotated[
        int, typer.Option("--cells", min=1, max=10_000_000, help="创建单位（细胞）数量")
    ] = 2000,
    seed: Annotated[int, typer.Option("--seed", help="随机种子，相同种子生成相同名册")] = 2017,
    out_path: Annotated[Path, typer.Option("--out", help="输出的 CSV 文件")] = Path("roster.csv"),
) -> None:
    """生成一份明显为虚构的名册（演示、测试与压测用）。"""
    from pingan.core.campaign import load_campaign
    from pingan.services.synth import write_roster

    campaign = load_campaign(config)
    summary = write_roster(campaign, cells, seed, out_path)
    per = "，".join(f"{campaign.domain(k).name} {n}" for k, n in summary.per_domain.items())
    out.print(
        f"已生成虚构名册 {summary.path}：{summary.villages} 个村（社区），"
        f"{summary.cells} 个创建单位（{per}）",
        markup=False,
    )


# --- units --------------------------------------------------------------------------------


@app.command()
@friendly
def units(
    campaign: Annotated[str, typer.Argument(help="创建活动编码，如 xucheng-2017")],
    domain: Annotated[
        str | None, typer.Option("--domain", help="只列出某一领域（键或名称）")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="以 JSON 输出全部记录")] = False,
    limit: Annotated[int, typer.Option("--limit", min=1, help="表格最多显示的行数")] = 50,
    include_withdrawn: Annotated[
        bool, typer.Option("--withdrawn", help="包括已撤销的单位")
    ] = False,
    db: DbOption = None,
) -> None:
    """列出已导入的单位：协调机构、牵头和参与单位、村（社区）与创建单位。"""
    from pingan.adapters.db.queries import list_units, unit_counts
    from pingan.services.load import require_campaign_id

    engine = _engine(db)
    cid = require_campaign_id(engine, campaign)
    rows = list_units(engine, cid, domain=domain, include_withdrawn=include_withdrawn)
    if as_json:
        sys.stdout.write(
            json.dumps({"campaign": campaign, "units": rows}, ensure_ascii=False, indent=1)
        )
        sys.stdout.write("\n")
        return
    counts = unit_counts(engine, cid)
    shown = f"，仅显示前 {limit} 个" if len(rows) > limit else ""
    table = Table(title=f"{campaign} 单位（共 {len(rows)} 个{shown}）")
    for col in ("编码", "名称", "类型", "领域", "村（社区）", "类别", "状态", "联系人", "手机"):
        table.add_column(col)
    for r in rows[:limit]:
        table.add_row(
            *(
                str(r[k] or "")
                for k in (
                    "code",
                    "name",
                    "kind_label",
                    "domain_name",
                    "village_name",
                    "category",
                    "status_label",
                    "contact",
                    "mobile",
                )
            )
        )
    out.print(table)
    out.print("  ".join(f"{k}：{v}" for k, v in counts.items()), markup=False)


# --- tick, status, collect, waive ---------------------------------------------------------


@app.command()
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
    from pingan.services.tick import evaluate_and_plan, open_campaign, resolve_as_of

    engine = _engine(db)
    handle = open_campaign(engine, campaign)
    day = resolve_as_of(handle, _as_of(as_of))
    result = evaluate_and_plan(engine, handle, day, dry_run=dry_run)
    if dry_run:
        current = None
        for m in result.previews:
            if m.recipient_unit_id != current:
                current = m.recipient_unit_id
                out.rule(f"{m.recipient_name}（{m.recipient_code}）", style="dim")
            out.print(f"[{m.kind}] {m.subject}", markup=False)
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


@app.command()
@friendly
def status(
    campaign: CampaignArg,
    as_of: AsOfOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="以 JSON 输出")] = False,
    db: DbOption = None,
) -> None:
    """创建进度：覆盖率、达标率（分领域）、各状态义务数、通知投递情况。不改变任何数据。"""
    from pingan.services.tick import current_status, open_campaign, resolve_as_of

    engine = _engine(db)
    handle = open_campaign(engine, campaign)
    report = current_status(engine, handle, resolve_as_of(handle, _as_of(as_of)))
    if as_json:
        sys.stdout.write(json.dumps(report, ensure_ascii=False, indent=2) + "\n")
        return
    from pingan.adapters.render.status_table import status_tables

    for renderable in status_tables(report):
        out.print(renderable)


@app.command()
@friendly
def collect(
    campaign: CampaignArg,
    inbox: Annotated[str, typer.Option("--inbox", help="报送目录（本地路径或 fsspec 地址）")],
    manifest: Annotated[
        bool, typer.Option("--manifest", help="--inbox 指向一份清单 CSV（path,kind,unit）而非目录")
    ] = False,
    as_of: AsOfOption = None,
    db: DbOption = None,
) -> None:
    """收取报送材料：逐个检查文件，合格的存入证据库并登记，不合格的移入隔离区并说明原因。"""
    from pingan.services.collect import collect_inbox

    engine = _engine(db)
    with progress_bar("收取材料（文件）") as progress:
        report = collect_inbox(
            engine, campaign, inbox, manifest=manifest, as_of=_as_of(as_of), progress=progress
        )
    out.print(
        f"收取完成：合格 {report.accepted} 份（其中逾期 {report.late} 份），"
        f"重复 {report.duplicates} 份，退回 {report.rejected} 份",
        markup=False,
    )
    for path, _code, reason in report.rejections[:50]:
        err.print(f"  退回 {path}：{reason}", markup=False, soft_wrap=True)


@app.command()
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


# --- delivery ---------------------------------------------------------------------------


@app.command()
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
    from pingan.services.dispatch import run_dispatch
    from pingan.services.tick import open_campaign

    engine = _engine(db)
    with progress_bar("投递通知（条）") as progress:
        report = run_dispatch(
            open_campaign(engine, campaign),
            engine=engine,
            respect_quiet_hours=not ignore_quiet_hours,
            wait_up_to_s=wait,
            progress=progress,
        )
    out.print(report.summary_zh(), markup=False)


@app.command()
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
    from pingan.adapters.outbox import list_outbox, outbox_counts, retry
    from pingan.services.tick import open_campaign

    engine = _engine(db)
    if first == "retry":
        args = list(rest or [])
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
        result = retry(
            engine, [int(a) for a in args[1:]], dead=dead, campaign_id=handle.campaign_id
        )
        out.print(
            f"已重新排队：投递 {result.deliveries} 条，通知 {result.notifications} 条",
            markup=False,
        )
        if result.not_found:
            err.print(f"以下编号不存在或不处于失败/放弃状态：{result.not_found}", markup=False)
        return
    handle = open_campaign(engine, first)
    entries = list_outbox(engine, handle.campaign_id, state=state, limit=limit)
    if as_json:
        rows = [
            {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in e.__dict__.items()}
            for e in entries
        ]
        counts = outbox_counts(engine, handle.campaign_id)
        sys.stdout.write(
            json.dumps({"counts": counts, "entries": rows}, ensure_ascii=False, indent=1) + "\n"
        )
        return
    table = Table(title=f"{first} 通知投递（{len(entries)} 条）")
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
    counts = outbox_counts(engine, handle.campaign_id)
    out.print("  ".join(f"{k}：{v}" for k, v in counts.items()), markup=False)


# --- assessment ----------------------------------------------------------------------------


@assess_app.command("template")
@friendly
def assess_template(
    campaign: CampaignArg,
    out_path: Annotated[Path, typer.Option("--out", help="输出的 XLSX 文件")],
    domain: Annotated[
        list[str] | None, typer.Option("--domain", help="只生成某些领域（键），可重复")
    ] = None,
    db: DbOption = None,
) -> None:
    """生成考核验收评分表：每个领域一个工作表，每个在册创建单位一行，每个评分项一列。"""
    from pingan.adapters.db.assessing import active_cells
    from pingan.adapters.intake.scores import write_template
    from pingan.services.tick import open_campaign

    engine = _engine(db)
    handle = open_campaign(engine, campaign)
    cells = sorted(active_cells(engine, handle.campaign_id).values(), key=lambda c: c.code)
    path = write_template(handle.campaign, cells, out_path, domains=domain or None)
    out.print(f"已生成评分表 {path}（{len(cells)} 个在册创建单位）", markup=False)


@assess_app.command("import")
@friendly
def assess_import(
    campaign: CampaignArg,
    file: Annotated[Path, typer.Argument(help="填好的评分表（XLSX 或 CSV）")],
    as_of: AsOfOption = None,
    db: DbOption = None,
    actor: ActorOption = None,
) -> None:
    """导入评分：全部检查通过才写入；未达标单位再次导入即为复查（保留历次记录）。"""
    from pingan.adapters.db.assessing import active_cells, store_scores
    from pingan.adapters.db.session import session_scope
    from pingan.adapters.intake.scores import acceptance_window, read_scores
    from pingan.services.tick import open_campaign, resolve_as_of

    _existing_file(file, "评分表")
    engine = _engine(db)
    handle = open_campaign(engine, campaign)
    today = resolve_as_of(handle, _as_of(as_of))
    result = read_scores(
        file,
        handle.campaign,
        active_cells(engine, handle.campaign_id),
        today=today,
        window=acceptance_window(handle.campaign),
    )
    if result.problems:
        raise InputError(result.problems)
    with session_scope(engine) as session:
        counts = store_scores(
            session,
            handle.campaign,
            handle.campaign_id,
            result.rows,
            source="spreadsheet",
            actor=_actor(actor),
            file_name=str(file),
        )
    out.print(
        f"已导入评分 {counts['assessed']} 个单位（达标 {counts['passed']}，"
        f"其中复查 {counts['reassessed']}）",
        markup=False,
    )


# --- demo ---------------------------------------------------------------------------------


@app.command()
@friendly
def demo(
    out_dir: Annotated[Path, typer.Option("--out", help="输出目录")] = Path(".pingan/demo"),
    cells: Annotated[int, typer.Option("--cells", min=10, help="虚构创建单位数量")] = 2000,
    seed: Annotated[int, typer.Option("--seed", help="随机种子（同一种子结果相同）")] = 2017,
    smtp: Annotated[
        str | None,
        typer.Option("--smtp", help="同时把每条通知发到本地 SMTP 服务器，如 127.0.0.1:1025"),
    ] = None,
) -> None:
    """演示：用虚构名册走完 2017 年徐城街道“平安细胞”创建活动，从制定方案到命名挂牌。"""
    from pingan.demo.run import run_demo

    run_demo(out_dir, cells=cells, seed=seed, console=out, smtp=smtp)


# Command groups that live in their own modules.
from pingan.cli import award as cli_award  # noqa: E402
from pingan.cli import deploy as cli_deploy  # noqa: E402
from pingan.cli import portal as cli_portal  # noqa: E402
from pingan.cli import report as cli_report  # noqa: E402

cli_award.register(app)
cli_deploy.register(app)
cli_portal.register(app)
cli_report.register(app)


def main() -> None:
    # Offline machines: Prefect's telemetry would only log connection errors.
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    # Keep third-party loggers from printing secrets or noise at DEBUG (see DESIGN.md).
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    app()


if __name__ == "__main__":
    main()

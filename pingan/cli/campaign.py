"""`pingan validate`, `pingan campaign init`, `pingan db upgrade`, `pingan load`,
`pingan roster synth`, `pingan units`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from pingan.cli import roster_sheets
from pingan.cli.common import (
    ActorOption,
    CampaignArg,
    ConfigArg,
    DbOption,
    JsonOption,
    _actor,
    _as_of,
    _engine,
    _existing_file,
    emit_json,
    err,
    friendly,
    out,
    progress_bar,
)
from pingan.core.problems import InputError, Problem

NOT_A_FILE_TARGET = "应为要写入的活动配置文件（如 config/campaigns/x.yaml），不能是文件夹"

db_app = typer.Typer(help="数据库维护。", no_args_is_help=True)
campaign_app = typer.Typer(help="创建活动配置。", no_args_is_help=True)
roster_app = typer.Typer(help="名册工具。", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(db_app, name="db")
    app.add_typer(roster_app, name="roster")
    roster_sheets.register(roster_app)
    app.add_typer(campaign_app, name="campaign")
    app.command()(validate)
    app.command()(load)
    app.command()(units)


# --- validate --------------------------------------------------------------------------------


@friendly
def validate(
    config: ConfigArg,
    as_json: JsonOption = False,
) -> None:
    """检查创建活动配置：字段、日期、单位与领域引用、评分细则、工作日历覆盖的年份。"""
    from pingan.cli.validation import campaign_summary, print_summary
    from pingan.core.campaign import load_campaign

    c = load_campaign(config)
    summary = campaign_summary(c)
    if as_json:
        emit_json(summary)
    else:
        print_summary(summary)
    from pingan.core.campaign import working_calendar
    from pingan.core.rest_days import rest_day_warnings

    for line in rest_day_warnings(c, working_calendar(c, config).is_working_day):
        err.print(f"  提示：{line}", markup=False, soft_wrap=True)


# --- campaign init ---------------------------------------------------------------------------


@campaign_app.command("init")
@friendly
def campaign_init(
    out_path: Annotated[
        Path,
        typer.Argument(metavar="配置文件", help="要写入的活动配置文件，如 config/campaigns/x.yaml"),
    ],
    code: Annotated[
        str,
        typer.Option(
            "--code",
            prompt="活动编码（英文、数字、-）",
            help="活动编码（英文、数字、-）",
            metavar="编码",
        ),
    ],
    organisation: Annotated[
        str,
        typer.Option(
            "--organisation",
            prompt="组织者名称（如 滨江区）",
            help="组织者名称（如 滨江区）",
            metavar="名称",
        ),
    ],
    level: Annotated[
        str,
        typer.Option(
            "--level",
            prompt="组织者层级（名称末尾的层级，如 镇、县、区、市；行业主管部门填 部门）",
            help="组织者层级（名称末尾的层级，如 镇、县、区、市；行业主管部门填 部门）",
            metavar="层级",
        ),
    ],
    domains: Annotated[
        str,
        typer.Option(
            "--domains",
            prompt="创建领域及牵头单位（如 平安市场=区市场监管局，…）",
            help="创建领域及牵头单位（如 平安市场=区市场监管局，…）",
            metavar="领域=牵头单位，…",
        ),
    ],
    starts_on: Annotated[
        str,
        typer.Option(
            "--starts-on",
            metavar="YYYY-MM-DD",
            prompt="活动开始日期（YYYY-MM-DD）",
            help="活动开始日期",
        ),
    ],
    ends_on: Annotated[
        str,
        typer.Option(
            "--ends-on",
            metavar="YYYY-MM-DD",
            prompt="活动结束日期（YYYY-MM-DD）",
            help="活动结束日期",
        ),
    ],
    coverage: Annotated[float, typer.Option("--coverage", metavar="比例", help="覆盖率目标")] = 1.0,
    pass_rate: Annotated[
        float, typer.Option("--pass-rate", metavar="比例", help="达标率目标")
    ] = 0.9,
    name: Annotated[str | None, typer.Option("--name", metavar="名称", help="活动全称")] = None,
    force: Annotated[bool, typer.Option("--force", help="覆盖已有文件")] = False,
) -> None:
    """生成带注释的活动配置骨架（pingan validate 可通过）和配套的名册模板（CSV，中文列名）。"""
    from pingan.adapters.intake.roster.columns import LABELS
    from pingan.cli.init_files import write_new
    from pingan.core.campaign import parse_campaign, read_yaml, semantic_problems
    from pingan.core.campaign.organisation import default_grouping
    from pingan.core.campaign.skeleton import (
        InitAnswers,
        parse_domains,
        roster_rows,
        skeleton_yaml,
    )

    if out_path.name in ("", ".", "..") or out_path.is_dir():
        raise InputError([Problem(str(out_path), "", NOT_A_FILE_TARGET)])
    answers = InitAnswers(
        code=code.strip(),
        organisation=organisation.strip(),
        level=level.strip(),
        domains=parse_domains(domains),
        starts_on=_as_of(starts_on, "--starts-on"),
        ends_on=_as_of(ends_on, "--ends-on"),
        coverage=coverage,
        pass_rate=pass_rate,
        name=name,
    )
    roster = out_path.with_name(f"{out_path.stem}-roster.csv")
    text = skeleton_yaml(answers)
    written = write_new(
        {out_path: text, roster: (LABELS, roster_rows(answers, default_grouping(answers.level)))},
        force=force,
    )
    # The skeleton is checked as `validate` would, so a bad answer never leaves a bad file.
    problems = semantic_problems(parse_campaign(read_yaml(out_path), str(out_path)), str(out_path))
    if problems:
        for p in written:
            p.unlink(missing_ok=True)
        raise InputError(problems)
    out.print(f"已生成活动配置 {out_path} 和名册模板 {roster}", markup=False)
    out.print(
        f"  请按方案原文修改标注 assumed 的内容，再运行 pingan validate {out_path}", markup=False
    )


# --- db --------------------------------------------------------------------------------------


@db_app.command("upgrade")
@friendly
def db_upgrade(db: DbOption = None) -> None:
    """把数据库结构升级到最新版本（可重复执行）。"""
    from pingan.adapters.db.session import current_revision, upgrade

    engine = _engine(db, create=True)
    upgrade(engine)
    out.print(
        f"数据库已是最新结构（版本 {current_revision(engine)}）：{engine.url!r}", markup=False
    )


# --- load ------------------------------------------------------------------------------------


@friendly
def load(
    config: ConfigArg,
    roster: Annotated[
        Path | None,
        typer.Option(
            "--roster", metavar="名册文件", help="名册文件（CSV 或 XLSX），格式见 docs/roster.md"
        ),
    ] = None,
    skip_invalid: Annotated[
        bool, typer.Option("--skip-invalid", help="跳过有问题的行，导入其余各行（问题行照常报告）")
    ] = False,
    as_json: JsonOption = False,
    db: DbOption = None,
    actor: ActorOption = None,
) -> None:
    """导入（或更新）创建活动及名册，并生成各单位的报送义务。"""
    from pingan.services.load import load as do_load

    if roster is not None:
        _existing_file(roster, "名册文件")
    with progress_bar("导入活动与名册（步骤）") as progress:
        result = do_load(
            _engine(db, create=True),
            config,
            roster,
            skip_invalid=skip_invalid,
            actor=_actor(actor),
            progress=progress,
        )
    if as_json:
        emit_json(_load_json(result))
        return
    s = result.summary
    out.print(f"已导入创建活动 {result.campaign.code}（{result.campaign.name}）", markup=False)
    if result.roster is not None:
        out.print(
            f"  名册：新增 {s.added}，变更 {s.changed}，撤销 {s.withdrawn}，恢复 {s.reactivated}，"
            f"联系人写入 {s.contacts_written}",
            markup=False,
        )
        for warning in result.roster.warnings:
            err.print(f"提示：{warning}", markup=False, soft_wrap=True)
        if result.roster.problems:
            for p in result.roster.problems:
                err.print(str(p), markup=False, soft_wrap=True)
            err.print(
                f"已跳过 {len(result.roster.invalid_lines)} 行有问题的记录（--skip-invalid）。",
                markup=False,
            )
    out.print(f"  新生成报送义务 {result.obligations_created} 项", markup=False)


def _load_json(result: Any) -> dict[str, Any]:
    s = result.summary
    roster = None
    if result.roster is not None:
        roster = {
            "added": s.added,
            "changed": s.changed,
            "withdrawn": s.withdrawn,
            "reactivated": s.reactivated,
            "contacts_written": s.contacts_written,
            "skipped_lines": len(result.roster.invalid_lines),
            "problems": [str(p) for p in result.roster.problems],
        }
    return {
        "campaign": result.campaign.code,
        "name": result.campaign.name,
        "campaign_changed": s.campaign_changed,
        "roster": roster,
        "obligations_created": result.obligations_created,
    }


# --- roster synth ----------------------------------------------------------------------------


@roster_app.command("synth")
@friendly
def roster_synth(
    config: ConfigArg,
    cells: Annotated[
        int,
        typer.Option("--cells", min=1, max=10_000_000, metavar="数量", help="创建单位（细胞）数量"),
    ] = 2000,
    seed: Annotated[
        int, typer.Option("--seed", metavar="整数", help="随机种子，相同种子生成相同名册")
    ] = 2017,
    out_path: Annotated[
        Path, typer.Option("--out", metavar="CSV 文件", help="输出的 CSV 文件")
    ] = Path("roster.csv"),
) -> None:
    """生成一份明显为虚构的名册（演示、测试与压测用）。"""
    from pingan.core.campaign import load_campaign
    from pingan.services.synth import write_roster

    campaign = load_campaign(config)
    summary = write_roster(campaign, cells, seed, out_path, chinese=True)
    per = "，".join(f"{campaign.domain(k).name} {n}" for k, n in summary.per_domain.items())
    out.print(
        f"已生成虚构名册 {summary.path}：{summary.villages} 个{campaign.wording.grouping}，"
        f"{summary.cells} 个创建单位（{per}）",
        markup=False,
    )


# --- units -----------------------------------------------------------------------------------


@friendly
def units(
    campaign: CampaignArg,
    domain: Annotated[
        str | None, typer.Option("--domain", metavar="领域", help="只列出某一领域（键或名称）")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="以 JSON 输出全部记录")] = False,
    limit: Annotated[
        int, typer.Option("--limit", min=1, metavar="行数", help="表格最多显示的行数")
    ] = 50,
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
        emit_json({"campaign": campaign, "units": rows})
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

"""`pingan assess template`, `pingan assess import`: the 考核验收评分表."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

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
)

assess_app = typer.Typer(
    help="考核验收评分：生成评分表、导入评分（含复查）。", no_args_is_help=True
)


def register(app: typer.Typer) -> None:
    app.add_typer(assess_app, name="assess")


# --- assessment ------------------------------------------------------------------------------


@assess_app.command("template")
@friendly
def assess_template(
    campaign: CampaignArg,
    out_path: Annotated[Path, typer.Option("--out", metavar="XLSX 文件", help="输出的 XLSX 文件")],
    domain: Annotated[
        list[str] | None,
        typer.Option("--domain", metavar="领域键…", help="只生成某些领域（键），可重复"),
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
    # The count is of the sheets written: only the chosen domains' cells.
    chosen = set(domain or (d.key for d in handle.campaign.domains))
    n = sum(1 for c in cells if c.domain in chosen)
    names = "、".join(d.name for d in handle.campaign.domains if d.key in chosen)
    out.print(f"已生成评分表 {path}（{names}：{n} 个在册创建单位）", markup=False)


@assess_app.command("import")
@friendly
def assess_import(
    campaign: CampaignArg,
    file: Annotated[Path, typer.Argument(metavar="评分表", help="填好的评分表（XLSX 或 CSV）")],
    as_of: AsOfOption = None,
    db: DbOption = None,
    actor: ActorOption = None,
) -> None:
    """导入评分：全部检查通过才写入；未达标单位再次导入即为复查（保留历次记录）。"""
    from pingan.services.acceptance import import_score_sheet
    from pingan.services.tick import open_campaign, resolve_as_of

    _existing_file(file, "评分表")
    engine = _engine(db)
    handle = open_campaign(engine, campaign)
    today = resolve_as_of(handle, _as_of(as_of))
    counts = import_score_sheet(
        engine,
        handle,
        file,
        today=today,
        actor=_actor(actor),
        warn=lambda p: err.print(f"提示：{p}", markup=False, soft_wrap=True),
    )
    out.print(
        f"已导入评分 {counts['assessed']} 个单位（达标 {counts['passed']}，"
        f"其中复查 {counts['reassessed']}）",
        markup=False,
    )

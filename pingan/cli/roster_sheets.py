"""`pingan roster template`: the roster template as clerks fill it in Excel or WPS."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from pingan.cli.common import DbOption, _engine, friendly, out
from pingan.core.problems import InputError


def register(roster_app: typer.Typer) -> None:
    roster_app.command("template")(roster_template)


@friendly
def roster_template(
    config: Annotated[Path, typer.Argument(help="创建活动配置文件（YAML）")],
    out_path: Annotated[Path, typer.Option("--out", help="输出的名册模板（.xlsx）")] = Path(
        "名册模板.xlsx"
    ),
    db: DbOption = None,
) -> None:
    """生成名册模板（.xlsx）：中文列名，类型、领域、村（社区）下拉选择，按 A4 打印。"""
    from pingan.services.roster_template import roster_template as write

    try:
        engine = _engine(db)
    except InputError:
        engine = None  # no database yet: the villages are typed in the template itself
    made = write(config, out_path, engine)
    grouping = made.campaign.wording.grouping
    out.print(f"已生成名册模板 {made.path}", markup=False)
    if made.villages:
        out.print(
            f"  {grouping}下拉列表：已导入名册中的 {made.villages} 个{grouping}", markup=False
        )
    else:
        out.print(
            f"  数据库中尚无该活动的{grouping}，{grouping}下拉列表列出本表第一列填写的编码",
            markup=False,
        )

"""`pingan report`: the progress report (HTML with charts, XLSX) and the weekly bulletin."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer

from pingan.cli.common import (
    AsOfOption,
    CampaignArg,
    DbOption,
    JsonOption,
    _as_of,
    _engine,
    _writable_dir,
    emit_json,
    err,
    friendly,
    out,
)


def register(app: typer.Typer) -> None:
    app.command("report")(report)


@friendly
def report(
    campaign: CampaignArg,
    as_of: AsOfOption = None,
    out_dir: Annotated[
        Path | None,
        typer.Option(
            "--out",
            metavar="目录",
            help="输出目录，默认为 PINGAN_OUTPUT_DIR（未设置时 .pingan/output）"
            "下的“活动编码/reports”",
        ),
    ] = None,
    bulletin: Annotated[
        bool,
        typer.Option(
            "--bulletin/--no-bulletin",
            help="同时向各牵头单位和综治委安排本周的工作通报（每周每单位一份，重复执行不重复安排）",
        ),
    ] = True,
    as_json: JsonOption = False,
    db: DbOption = None,
) -> None:
    """生成创建工作进展报告（含图表的 HTML 和年度综治考核用 XLSX），并安排本周通报。

    设置了 PREFECT_API_URL 时以 pingan-report 流程运行的方式执行，记入 Prefect 运行历史
    （通报同样只安排，随下次投递发出）。"""
    from pingan.cli.through_prefect import api_url, flow_run_json, run_flow, say_where

    if out_dir is not None:
        _writable_dir(out_dir, "--out")
    day = _as_of(as_of)
    run = None
    if api_url():
        from flows.report import report as report_flow

        with err.status("正在生成报告……"):
            run = run_flow(
                report_flow,
                db,
                campaign=campaign,
                as_of=day,
                out_dir=None if out_dir is None else str(out_dir),
                bulletin=bulletin,
                dispatch=False,  # as without Prefect: the bulletin goes out with the next dispatch
            )
        doc = run.output.model_dump(mode="json", exclude={"delivery"})
    else:
        doc = _report_here(campaign, day, out_dir, bulletin, db)
    if as_json:
        emit_json({**doc, "flow_run": flow_run_json(run)})
    else:
        _print_report(doc)
    say_where(run, as_json)


def _report_here(
    campaign: str, day: date | None, out_dir: Path | None, bulletin: bool, db: str | None
) -> dict[str, Any]:
    from pingan.root import container
    from pingan.services.report import plan_weekly_bulletin, run_report
    from pingan.services.tick import open_campaign, resolve_as_of

    engine, c = _engine(db), container()
    handle = open_campaign(engine, campaign)
    day = resolve_as_of(handle, day)
    with err.status("正在生成报告……"):
        target = out_dir or c.reports_dir(handle.campaign.code)
        result = run_report(engine, handle, day, target, c.settings.font_path)
    plan = plan_weekly_bulletin(engine, handle, day, result.paths) if bulletin else None
    return _report_json(day, result, plan)


def _print_report(doc: dict[str, Any]) -> None:
    from pingan.adapters.render.report.data import pct

    out.print(f"已生成 {doc['as_of']} 的创建工作进展报告：", markup=False)
    out.print(f"  报告（HTML，含图表）：{doc['html']}", markup=False, soft_wrap=True)
    out.print(f"  考核统计表（XLSX）：{doc['xlsx']}", markup=False, soft_wrap=True)
    pass_rate = doc["pass_rate"]
    out.print(
        f"  创建覆盖率 {pct(doc['coverage'])}，"
        f"达标率 {'未验收' if pass_rate is None else pct(pass_rate)}，"
        f"逾期未报事项 {doc['red']} 项",
        markup=False,
    )
    plan = doc["bulletin"]
    if plan is None:
        return
    if plan["planned"]:
        out.print(
            f"已安排周通报 {plan['planned']} 份"
            f"（{plan['week']}，收件单位 {plan['recipients']} 个），"
            "将在下次投递时发出（pingan dispatch，或每日巡检结束时）",
            markup=False,
            soft_wrap=True,
        )
    else:
        out.print(f"本周（{plan['week']}）的通报此前已安排，未重复安排", markup=False)


def _report_json(day: date, result: Any, plan: Any) -> dict[str, Any]:
    bulletin = None
    if plan is not None:
        bulletin = {"week": plan.week, "planned": plan.planned, "recipients": plan.recipients}
    return {
        "as_of": day,
        "html": str(result.paths.html),
        "xlsx": str(result.paths.xlsx),
        "coverage": result.coverage,
        "pass_rate": result.pass_rate,
        "red": result.red,
        "bulletin": bulletin,
    }

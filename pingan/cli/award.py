"""`pingan acceptance …`, `pingan award`, `pingan awards`, `pingan verify`."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

import typer
from rich.table import Table

from pingan.cli.common import (
    ActorOption,
    AsOfOption,
    CampaignArg,
    DbOption,
    JsonOption,
    _actor,
    _as_of,
    _engine,
    emit_json,
    err,
    friendly,
    out,
)
from pingan.cli.granting import award
from pingan.core.problems import InputError, Problem

acceptance_app = typer.Typer(help="考核验收：查看结果、综治委签批。", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(acceptance_app, name="acceptance")
    app.command("award")(award)
    app.command("awards")(awards)
    app.command("verify")(verify)


@acceptance_app.command("results")
@friendly
def results(
    campaign: CampaignArg,
    as_of: AsOfOption = None,
    as_json: JsonOption = False,
    db: DbOption = None,
) -> None:
    """各领域考核验收结果（已验收、达标、未达标、一票否决、达标率对照目标）及未达标原因。"""
    from pingan.adapters.render.acceptance import results_table
    from pingan.core.acceptance import shortfall
    from pingan.services import acceptance
    from pingan.services.tick import open_campaign, resolve_as_of

    engine = _engine(db)
    handle = open_campaign(engine, campaign)
    res = acceptance.results(engine, handle, resolve_as_of(handle, _as_of(as_of)))
    if as_json:
        data = {
            "as_of": res.as_of,
            "pass_target": res.pass_target,
            "domains": [
                {
                    **asdict(d),
                    "target": res.target_of(d),
                    "pass_rate": d.pass_rate(),
                    "shortfall": shortfall(d, res.target_of(d)),
                }
                for d in res.domains
            ],
            "failed": [asdict(f) for f in res.failed],
        }
        emit_json(data)
        return
    rows = results_table(res)
    table = Table(title=f"考核验收结果（截至 {res.as_of}）")
    for col in rows[0]:
        table.add_column(col)
    for r in rows:
        table.add_row(*(str(v) for v in r.values()))
    out.print(table)
    for f in res.failed[:50]:
        out.print(f"未达标 {f.code} {f.name}：{'；'.join(f.reasons)}", markup=False)
    if len(res.failed) > 50:
        out.print(f"……另有 {len(res.failed) - 50} 个，使用 --json 查看全部", markup=False)


@acceptance_app.command("signoff")
@friendly
def signoff(
    campaign: CampaignArg,
    approver: Annotated[str, typer.Option("--approver", metavar="姓名", help="签批人姓名")],
    approve: Annotated[
        bool, typer.Option("--approve/--reject", help="同意命名，或退回复查（退回须写意见）")
    ],
    comment: Annotated[str, typer.Option("--comment", metavar="意见", help="批示意见")] = "",
    exclude: Annotated[
        list[str] | None,
        typer.Option(
            "--exclude", metavar="单位编码:理由…", help="暂缓命名的单位，格式 单位编码:理由，可重复"
        ),
    ] = None,
    flow_run: Annotated[
        str | None,
        typer.Option(
            "--flow-run",
            metavar="运行 ID",
            help="正在等待签批的验收流程运行 ID：填写则以此签批恢复该流程（由流程记录签批）",
        ),
    ] = None,
    db: DbOption = None,
    actor: ActorOption = None,
) -> None:
    """综治委签批考核验收结果（供无界面运行使用；与 Prefect 界面签批效果相同，均记入审计日志）。"""
    from pingan.core.acceptance import SignOffRequest, parse_exclusions
    from pingan.services import acceptance
    from pingan.services.tick import open_campaign

    exclusions = parse_exclusions(exclude or [])
    if flow_run:
        _resume(flow_run, approver, approve, comment, exclusions)
        out.print(f"已向流程运行 {flow_run} 提交签批，由该流程记录并继续执行", markup=False)
        return
    engine = _engine(db)
    handle = open_campaign(engine, campaign)
    request = SignOffRequest(approver, approve, comment, exclusions)
    s = acceptance.sign_off(engine, handle, request, actor=_actor(actor), source="cli")
    verdict = "同意命名" if s.approved else "退回复查"
    out.print(f"已记录签批：{s.approver}，{verdict}（签批编号 {s.id}）", markup=False)
    if s.exclusions:
        out.print(f"暂缓命名 {len(s.exclusions)} 个单位", markup=False)
    if s.approved:
        out.print(f"下一步：pingan award {campaign}", markup=False)


def _resume(
    flow_run: str, approver: str, approve: bool, comment: str, exclusions: dict[str, str]
) -> None:
    from uuid import UUID

    from prefect.flow_runs import resume_flow_run

    try:
        run_id = UUID(flow_run)
    except ValueError:
        raise InputError([Problem("--flow-run", flow_run, "不是有效的流程运行 ID")]) from None
    payload = {
        "approver": approver,
        "decision": "同意命名" if approve else "退回复查",
        "comment": comment,
        "exclusions": [{"cell": c, "reason": r} for c, r in exclusions.items()],
    }
    try:
        resume_flow_run(run_id, run_input=payload)
    except Exception as exc:  # the Prefect API's own errors: state, not found, unreachable
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(
            [Problem("--flow-run", flow_run, f"无法恢复该流程运行：{reason}")]
        ) from None


@friendly
def awards(
    campaign: CampaignArg,
    as_json: JsonOption = False,
    db: DbOption = None,
) -> None:
    """命名清单：编号、单位、称号、命名日期、验证码及撤销情况。"""
    from pingan.services import award as awarding
    from pingan.services.tick import open_campaign

    engine = _engine(db)
    handle = open_campaign(engine, campaign)
    items = awarding.listing(engine, handle)
    if as_json:
        emit_json([asdict(a) for a in items])
        return
    if not items:
        out.print("尚无命名", markup=False)
        return
    table = Table(title=f"{handle.campaign.name} 命名清单（{len(items)} 项）")
    for col in ("编号", "单位", "村（社区）", "命名日期", "验证码", "状态"):
        table.add_column(col)
    for a in items:
        state = f"已撤销：{a.revoked_reason}" if a.revoked_at else "有效"
        table.add_row(
            a.number,
            a.cell_name,
            a.village or "—",
            a.issued_on.isoformat(),
            a.verification_code,
            state,
        )
    out.print(table)


@friendly
def verify(
    campaign: CampaignArg,
    number: Annotated[str, typer.Argument(metavar="证书编号", help="证书编号")],
    code: Annotated[str, typer.Argument(metavar="验证码", help="证书上的验证码")],
    name: Annotated[
        str,
        typer.Option("--name", metavar="单位名称", help="证书上的单位名称（须与命名单位一致）"),
    ],
    db: DbOption = None,
) -> None:
    """核验证书真伪：编号、验证码与单位名称均相符且未撤销才为有效（无效时退出码 1）。"""
    from pingan.services import award as awarding
    from pingan.services.tick import open_campaign

    engine = _engine(db)
    handle = open_campaign(engine, campaign)
    v = awarding.verify(engine, handle, number, code, name=name)
    (out if v.valid else err).print(v.message, markup=False)
    if not v.valid:
        raise typer.Exit(1)

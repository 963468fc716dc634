"""`pingan deploy` and `pingan serve`: the campaign's deployments on a Prefect server.

Prefect is imported inside the commands so that the rest of the CLI starts quickly.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from rich.table import Table

from pingan.cli.common import err, friendly, out

if TYPE_CHECKING:
    from deployments.build import DeploymentSpec
    from pingan.core.campaign import Campaign

F = TypeVar("F", bound=Callable[..., Any])

ConfigArg = Annotated[Path, typer.Argument(metavar="配置文件", help="创建活动配置文件（YAML）")]
SignoffHoursOption = Annotated[
    int,
    typer.Option(
        "--signoff-hours",
        metavar="小时",
        min=1,
        max=720,
        help="考核验收提交签批后超过多少小时仍未签批，即通过活动的通知渠道提醒综治中心",
    ),
]
CrashAfterOption = Annotated[
    int,
    typer.Option(
        "--crash-after",
        min=0,
        metavar="秒数",
        help="流程运行超过多少秒没有心跳即标记为崩溃（须大于 worker 的 "
        "PREFECT_FLOWS_HEARTBEAT_FREQUENCY，默认 180）；0 表示不设置",
    ),
]


def register(app: typer.Typer) -> None:
    app.command("deploy")(deploy)
    app.command("serve")(serve)


def _prefect_errors(fn: F) -> F:
    """The server, the network and the flows' imports fail in operator-readable lines."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        import httpx
        from prefect.exceptions import PrefectHTTPStatusError

        from deployments.register import DeployError

        try:
            return fn(*args, **kwargs)
        except DeployError as exc:
            err.print(str(exc), markup=False, soft_wrap=True)
        except PrefectHTTPStatusError as exc:
            err.print(
                f"Prefect 服务器拒绝了请求（HTTP {exc.response.status_code}）：{_detail(exc)}",
                markup=False,
                soft_wrap=True,
            )
        except httpx.HTTPError as exc:
            err.print(f"与 Prefect 服务器通信失败：{type(exc).__name__} {exc}", markup=False)
        raise typer.Exit(2)

    return wrapper  # type: ignore[return-value]


def _detail(exc: Any) -> str:
    try:
        detail = exc.response.json().get("detail")
    except ValueError:
        detail = None
    return str(detail or exc.response.text or "")[:300]


def _load(config: Path) -> Campaign:
    from pingan.core.campaign import load_campaign

    return load_campaign(config)


def _specs(config: Path) -> tuple[Campaign, list[DeploymentSpec]]:
    """The campaign and its deployments, schedules on the working days of its calendar."""
    from deployments.build import deployment_specs
    from pingan.core.campaign import working_calendar

    campaign = _load(config)
    calendar = working_calendar(campaign, config)
    return campaign, deployment_specs(campaign, calendar=calendar)


def _print_notes(notes: list[str]) -> None:
    for note in notes:
        err.print(note, markup=False, soft_wrap=True)


def _print_plan(specs: list[DeploymentSpec]) -> None:
    from datetime import UTC, datetime

    from deployments.register import occurrences

    table = Table(title="部署与计划", show_lines=False)
    for column in ("部署", "计划", "首次", "末次", "次数"):
        table.add_column(column)
    ends: list[datetime] = []
    for spec in specs:
        if not spec.schedules:
            table.add_row(spec.full_name, "手动运行", "—", "—", "0")
        for s in spec.schedules:
            dates = occurrences(s)
            ends += dates[-1:]
            table.add_row(
                spec.full_name,
                s.slug,
                f"{dates[0]:%Y-%m-%d %H:%M}" if dates else "—",
                f"{dates[-1]:%Y-%m-%d %H:%M}" if dates else "—",
                str(len(dates)),
            )
    out.print(table)
    if ends and max(ends) < datetime.now(UTC):
        out.print(
            f"注意：各项计划已于 {max(ends):%Y-%m-%d} 结束，不会再自动运行；"
            "需要时可在 Prefect 界面手动运行（填写计算日期）。",
            markup=False,
            soft_wrap=True,
        )


@friendly
@_prefect_errors
def deploy(
    config: ConfigArg,
    pool: Annotated[
        str, typer.Option("--pool", metavar="工作池", help="工作池名称（process 类型，缺少时创建）")
    ] = ("pingan-process"),
    write_yaml: Annotated[
        Path | None,
        typer.Option(
            "--write-yaml",
            metavar="文件",
            help="只生成 Prefect 部署清单（prefect.yaml）到此文件，不连接服务器",
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="只列出将注册的部署与计划（并检查流程能否加载）")
    ] = False,
    crash_after: CrashAfterOption = 600,
    signoff_hours: SignoffHoursOption = 48,
) -> None:
    """把创建活动的各流程注册为 Prefect 部署（计划按活动日期生成）；服务器见 PREFECT_API_URL。"""
    from deployments.build import write_prefect_yaml
    from pingan.core.campaign import working_calendar

    campaign, specs = _specs(config)
    if write_yaml is not None:
        write_prefect_yaml(campaign, write_yaml, pool, working_calendar(campaign, config))
        out.print(f"已生成部署清单 {write_yaml}（{len(specs)} 个部署）", markup=False)
        return
    if dry_run:
        from deployments.register import load_flow

        for spec in specs:
            load_flow(spec.entrypoint)
        _print_plan(specs)
        out.print(f"（试运行，未连接服务器）工作池 {pool}，共 {len(specs)} 个部署", markup=False)
        return
    from deployments.register import Options, api_url
    from deployments.register import register as do_register

    options = Options(crash_after_s=crash_after, signoff_hours=signoff_hours)
    result = asyncio.run(do_register(specs, pool, options))
    _print_notes(result.notes)
    _print_plan(specs)
    created = "（新建）" if result.pool_created else ""
    out.print(
        f"已向 {api_url()} 注册 {len(result.deployments)} 个部署，工作池 {pool}{created}。"
        f"在各工作机上运行：prefect worker start --pool {pool}",
        markup=False,
        soft_wrap=True,
    )


@friendly
@_prefect_errors
def serve(
    config: ConfigArg,
    crash_after: CrashAfterOption = 600,
    signoff_hours: SignoffHoursOption = 48,
) -> None:
    """在本机一个进程内按计划运行创建活动的全部流程（单机部署；按 Ctrl+C 停止）。"""
    from prefect import serve as prefect_serve

    from deployments.register import Options, prepare_serve
    from deployments.steps import enter_project

    _, specs = _specs(config)
    # Same working directory as a worker's runs: the entrypoints and a relative PINGAN_HOME.
    enter_project()
    options = Options(crash_after_s=crash_after, signoff_hours=signoff_hours)
    deployments, notes = asyncio.run(prepare_serve(specs, options))
    _print_notes(notes)
    _print_plan(specs)
    prefect_serve(*deployments)

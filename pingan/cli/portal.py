"""`pingan portal` and `pingan links`: run the submission portal, list and revoke links.

Wired into the main command line by ``register(app)``; ``python -m pingan.cli.portal``
runs the same commands on their own.
"""

from __future__ import annotations

import errno
import socket
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated

import typer

from pingan.cli.common import (
    ActorOption,
    CampaignArg,
    DbOption,
    JsonOption,
    _actor,
    _engine,
    emit_json,
    err,
    friendly,
    out,
)
from pingan.cli.leader import leader_link
from pingan.core.problems import InputError

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from pingan.portal.config import PortalConfig
    from pingan.services.links import LinkListing


def register(app: typer.Typer) -> None:
    """Add the `portal` and `links` commands to app (the `pingan` command line)."""
    app.command("portal")(portal)
    app.command("links")(links)
    app.command("leader-link")(leader_link)


@friendly
def portal(
    host: Annotated[
        str,
        typer.Option("--host", metavar="地址", help="监听地址；对外服务请置于 HTTPS 反向代理之后"),
    ] = "127.0.0.1",
    port: Annotated[
        int, typer.Option("--port", min=1, max=65535, metavar="端口", help="监听端口")
    ] = 8700,
    rate_per_link: Annotated[
        float,
        typer.Option(
            "--rate-per-link", min=0, metavar="次数", help="每个链接每分钟最多请求次数（0 为不限）"
        ),
    ] = 30,
    rate_per_address: Annotated[
        float,
        typer.Option(
            "--rate-per-address",
            min=0,
            metavar="次数",
            help="每个来访地址每分钟最多请求次数（0 为不限）",
        ),
    ] = 600,
    forwarded_allow_ips: Annotated[
        str | None,
        typer.Option(
            "--forwarded-allow-ips",
            metavar="地址或网段，…",
            help=(
                "信任其 X-Forwarded-For 的反向代理地址或网段（逗号分隔）；"
                "默认取 PINGAN_PORTAL_TRUSTED_PROXIES，未设置则一概不信任"
            ),
        ),
    ] = None,
    db: DbOption = None,
) -> None:
    """启动网上报送门户：各单位凭通知中的专用链接查看应报事项、上传材料。

    须设置 PINGAN_PORTAL_SECRET（链接签名密钥）；通知中附带链接还须设置
    PINGAN_PORTAL_BASE_URL。限流按进程计算：多个进程各自计数。
    """
    from pingan.adapters.db.session import ensure_schema
    from pingan.portal.app import create_app

    config, base_url = _config(rate_per_link, rate_per_address, forwarded_allow_ips)
    engine = _engine(db, create=True)
    ensure_schema(engine)
    web = create_app(engine, config)
    if not base_url:
        err.print("提示：未设置 PINGAN_PORTAL_BASE_URL，通知中不会附带报送链接。", markup=False)
    listener = _bind(host, port)  # before saying it has started
    err.print(f"网上报送门户已启动：http://{host}:{port}/（Ctrl+C 停止）", markup=False)
    from pingan.portal.server import serve

    serve(web, listener)


def _bind(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port``; one Chinese line and exit code 2 if the address
    is taken, not ours, or does not resolve."""
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        return socket.create_server((host, port), family=family, backlog=2048)
    except OSError as exc:
        reason = (
            "端口已被占用"
            if exc.errno == errno.EADDRINUSE
            else "地址不属于本机"
            if exc.errno == errno.EADDRNOTAVAIL
            else "无权使用该端口"
            if exc.errno in (errno.EACCES, errno.EPERM)
            else "主机名无法解析"
            if isinstance(exc, socket.gaierror)
            else exc.strerror or type(exc).__name__
        )
        err.print(f"网上报送门户未启动：无法在 {host}:{port} 上监听（{reason}）", markup=False)
        raise typer.Exit(2) from None


def _config(
    rate_per_link: float, rate_per_address: float, proxies: str | None
) -> tuple[PortalConfig, str | None]:
    """The portal's configuration and public base URL (read before touching the database);
    one Chinese line and exit code 2 when the settings cannot start it."""
    from dataclasses import replace

    from pingan.portal.config import PortalConfig, PortalNotConfigured
    from pingan.portal.headers import TrustedProxies
    from pingan.portal.ratelimit import Rate
    from pingan.root import settings as current_settings

    try:
        settings = current_settings()
        config = PortalConfig.from_settings(
            settings,
            token_rate=Rate(rate_per_link, max(1, int(rate_per_link * 2 / 3))),
            address_rate=Rate(rate_per_address, max(1, int(rate_per_address / 3))),
        )
    except InputError as exc:
        reasons = "；".join(f"{p.where} {p.message}" for p in exc.problems)
        err.print(f"{reasons}，门户未启动", markup=False)
        raise typer.Exit(2) from None
    except PortalNotConfigured as exc:
        err.print(str(exc), markup=False)
        raise typer.Exit(2) from None
    if proxies is not None:
        try:
            trusted = TrustedProxies.parse(proxies.split(","))
        except ValueError:
            err.print("--forwarded-allow-ips 须为逗号分隔的地址或网段，门户未启动", markup=False)
            raise typer.Exit(2) from None
        config = replace(config, trusted_proxies=trusted)
    return config, settings.portal_base_url


@friendly
def links(
    campaign: CampaignArg,
    unit: Annotated[
        list[str] | None,
        typer.Option("--unit", metavar="单位编码…", help="单位编码，可重复；默认列出全部单位"),
    ] = None,
    revoke: Annotated[
        bool,
        typer.Option("--revoke", help="作废 --unit 所列单位已发出的全部链接（此后的通知附新链接）"),
    ] = False,
    as_json: JsonOption = False,
    limit: Annotated[
        int, typer.Option("--limit", min=1, metavar="行数", help="表格最多显示的行数")
    ] = 50,
    db: DbOption = None,
    actor: ActorOption = None,
) -> None:
    """列出各单位的网上报送专用链接，或作废某些单位的链接（记入审计日志）。

    更换 PINGAN_PORTAL_SECRET 可一次作废全部链接。
    """
    from pingan.root import settings as current_settings
    from pingan.services.links import list_links
    from pingan.services.tick import open_campaign

    engine = _engine(db)
    handle = open_campaign(engine, campaign)
    now = datetime.now(UTC)
    if revoke:
        _revoke(engine, handle.campaign_id, unit, actor=actor, now=now)
    settings = current_settings()
    rows = list_links(engine, handle.campaign_id, campaign, settings, now, unit_codes=unit or None)
    if as_json:
        emit_json([r.as_json(handle.campaign.timezone) for r in rows])
        return
    if not settings.portal_base_url or not settings.portal_secret:
        err.print(
            "提示：未设置 PINGAN_PORTAL_BASE_URL 或 PINGAN_PORTAL_SECRET，无法生成链接。",
            markup=False,
        )
    _print_table(rows, limit, handle.campaign.timezone)


def _revoke(
    engine: Engine, campaign_id: int, unit: list[str] | None, *, actor: str | None, now: datetime
) -> None:
    from pingan.core.problems import InputError, Problem
    from pingan.services.links import revoke_links

    if not unit:
        raise InputError(
            [
                Problem(
                    "参数",
                    "--revoke",
                    "须用 --unit 指明单位；作废全部链接请更换 PINGAN_PORTAL_SECRET",
                )
            ]
        )
    versions = revoke_links(engine, campaign_id, unit, actor=_actor(actor), now=now)
    for code, version in versions.items():
        out.print(f"已作废 {code} 的全部旧链接（现为第 {version} 版）", markup=False)


def _print_table(rows: list[LinkListing], limit: int, tz: str) -> None:
    """The links, every time in the campaign's time zone ``tz``."""
    from datetime import UTC
    from zoneinfo import ZoneInfo

    from rich.table import Table

    def local(d: datetime) -> str:
        aware = d.replace(tzinfo=UTC) if d.tzinfo is None else d
        return f"{aware.astimezone(ZoneInfo(tz)):%Y-%m-%d %H:%M}"

    table = Table(show_lines=False)
    for title in ("单位编码", "名称", "版本", "最近作废", "网上报送", "链接"):
        table.add_column(title, overflow="fold")
    for r in rows[:limit]:
        revoked = f"{local(r.revoked_at)}（{r.revoked_by}）" if r.revoked_at else "—"
        table.add_row(
            r.code,
            r.name + ("（已退出）" if r.status != "active" else ""),
            str(r.version),
            revoked,
            str(r.portal_uploads),
            r.link or "—",
        )
    out.print(table)
    if len(rows) > limit:
        out.print(f"（共 {len(rows)} 个单位，仅显示前 {limit} 个；--json 输出全部）")
    if rows and rows[0].expires_at:
        out.print(f"以上链接有效期至 {local(rows[0].expires_at)}（{tz}）", markup=False)


def main() -> None:
    from pingan.cli.chrome import ChineseGroup

    app = typer.Typer(
        cls=ChineseGroup,
        help="pingan 网上报送门户。",
        no_args_is_help=True,
        add_completion=False,
        rich_markup_mode="rich",
        pretty_exceptions_enable=False,
    )
    register(app)
    app()


if __name__ == "__main__":
    main()

"""`pingan` command line. Thin: parses arguments, calls the core, prints in Chinese.

User mistakes (bad files, unknown campaign, unreachable database) end with one line per
problem and exit code 2 — never a traceback. The command line's own words (usage, panels,
click's errors) are Chinese too: pingan.cli.chrome.
"""

from __future__ import annotations

import os
from typing import Annotated

import typer

from pingan.adapters.private import keep_state_private
from pingan.cli.chrome import ChineseGroup, version_callback

# `pingan --help` groups the commands into these panels, in this order.
DAILY, ACCEPTANCE, AWARD, DEPLOY, PORTAL = "日常", "验收", "命名", "部署", "门户"
PANELS = {
    "tick": DAILY,
    "status": DAILY,
    "collect": DAILY,
    "dispatch": DAILY,
    "outbox": DAILY,
    "channels": DAILY,
    "waive": DAILY,
    "report": DAILY,
    "units": DAILY,
    "assess": ACCEPTANCE,
    "acceptance": ACCEPTANCE,
    "award": AWARD,
    "awards": AWARD,
    "verify": AWARD,
    "campaign": DEPLOY,
    "validate": DEPLOY,
    "load": DEPLOY,
    "roster": DEPLOY,
    "db": DEPLOY,
    "deploy": DEPLOY,
    "serve": DEPLOY,
    "demo": DEPLOY,
    "portal": PORTAL,
    "links": PORTAL,
    "leader-link": PORTAL,
}


class PinganGroup(ChineseGroup):
    panels = PANELS
    panel_order = (DAILY, ACCEPTANCE, AWARD, DEPLOY, PORTAL)


app = typer.Typer(
    cls=PinganGroup,
    help="pingan：平安细胞等创建活动的编排服务（方案 → 实施 → 自查 → 验收 → 命名挂牌）。",
    no_args_is_help=True,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
)


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=version_callback, is_eager=True, help="显示版本号并退出。"
        ),
    ] = False,
) -> None:
    """pingan：平安细胞等创建活动的编排服务（方案 → 实施 → 自查 → 验收 → 命名挂牌）。"""


# Command groups, each in its own module.
from pingan.cli import (  # noqa: E402
    assess,
    award,
    campaign,
    channels,
    delivery,
    deploy,
    portal,
    report,
    ticking,
)
from pingan.cli import demo as demo_commands  # noqa: E402

for group in (
    campaign,
    ticking,
    delivery,
    channels,
    assess,
    award,
    report,
    portal,
    deploy,
    demo_commands,
):
    group.register(app)


def main() -> None:
    # Offline machines: Prefect's telemetry would only log connection errors.
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    # Keep third-party loggers from printing secrets or noise at DEBUG (docs/architecture.md).
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    keep_state_private()  # database, evidence, outputs, keys: 0600 files in 0700 folders
    app()


if __name__ == "__main__":
    main()

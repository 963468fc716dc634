"""`pingan` command line. Thin: parses arguments, calls the core, prints in Chinese.

User mistakes (bad files, unknown campaign, unreachable database) end with one line per
problem and exit code 2 — never a traceback.
"""

from __future__ import annotations

import os

import typer

from pingan.adapters.private import keep_state_private

app = typer.Typer(
    help="pingan：平安细胞等创建活动的编排服务（方案 → 实施 → 自查 → 验收 → 命名挂牌）。",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)

# Command groups, each in its own module, in the order `pingan --help` lists them.
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

"""`pingan demo`: the 2017 seed campaign on a synthetic roster, from plan to plaque.

Every working day from 2017-05-01 to 2017-11-30 runs the real tick flow (collect, evaluate,
plan reminders and escalations, dispatch, publish) with ``as_of`` set to that day, while a
deterministic simulator (pingan.demo.sim) drops plans and self-check reports into an inbox.
In the acceptance week the assessment team's score sheet is imported through the same path
as `pingan assess import`, failed cells are re-assessed, the acceptance flow pauses for the
coordinator's sign-off — given here through the Prefect API exactly as the UI would — and
awards, certificates and the public list follow. The report flow closes the campaign.

Nothing leaves the machine: every message goes to one JSONL log (and to a local SMTP server
with ``--smtp``).
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path
from typing import Any

from rich.console import Console

from pingan.demo.server import ensure_prefect_server, startup_timeout_s
from pingan.demo.summary import print_summary
from pingan.demo.walk import DemoRun, campaign_file, walk_campaign
from pingan.root import ChannelOverride, Container, build, install, load_settings


def demo_container(out_dir: Path, seed: int, smtp: str | None) -> Container:
    """Everything under ``out_dir``, every message to one JSONL log (and, with ``smtp``,
    mailed to a local server); built in code, the process environment left as it is."""
    smtp_url = f"mailto://{smtp}?from=pingan-demo@example.org" if smtp else None
    settings = load_settings(
        home=out_dir,
        database_url=f"sqlite:///{out_dir / 'pingan.db'}",
        channel_override=ChannelOverride.FILE,
        outbox_file=out_dir / "messages.jsonl",
        output_dir=out_dir / "output",
        # Verification codes are keyed; a fixed demo key keeps the demo deterministic.
        award_secret=os.environ.get("PINGAN_AWARD_SECRET") or f"pingan-demo-{seed}",
        smtp_ref="env:PINGAN_DEMO_SMTP_URL" if smtp_url else None,
        mirror_mail_to="demo-inbox@example.org" if smtp_url else None,
    )
    environ = {**os.environ, "PINGAN_DEMO_SMTP_URL": smtp_url} if smtp_url else None
    return build(settings, environ=environ)


def run_demo(
    out_dir: Path,
    *,
    cells: int,
    seed: int,
    console: Console,
    smtp: str | None = None,
    config: Path | None = None,
) -> dict[str, Any]:
    from prefect.settings import (
        PREFECT_FLOWS_HEARTBEAT_FREQUENCY,
        PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS,
        temporary_settings,
    )

    out_dir = out_dir.resolve()
    if out_dir.exists():
        shutil.rmtree(out_dir)
    out_dir.mkdir(parents=True)
    demo = install(demo_container(out_dir, seed, smtp))
    started = time.monotonic()
    engine = demo.engine
    # A sync flow otherwise waits for its heartbeat thread; the demo runs ~150 of them.
    with temporary_settings(
        {
            PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None,
            PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS: startup_timeout_s(),
        }
    ):
        ensure_prefect_server(
            lambda attempt, attempts: console.print(
                f"临时 Prefect 服务器第 {attempt} 次启动未成功，正在重试（共 {attempts} 次）……",
                markup=False,
            )
        )
        run = DemoRun(config or campaign_file(None), cells, seed)
        summary = walk_campaign(engine, out_dir, run, console)
    engine.dispose()
    summary["seconds"] = round(time.monotonic() - started, 1)
    (out_dir / "summary.json").write_text(
        json.dumps(summary, ensure_ascii=False, indent=2), encoding="utf-8"
    )
    print_summary(console, summary)
    return summary

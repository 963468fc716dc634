"""The demo's temporary Prefect server: when it cannot start, the demo tries again and then
ends with one Chinese line and exit code 1 — not with Prefect's traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.factories import ROOT


def test_a_prefect_server_that_never_starts_ends_the_demo_in_one_line(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "PINGAN_"))}
    env |= {
        "PYTHONPATH": str(ROOT),
        "PREFECT_HOME": str(tmp_path / "prefect"),
        # The server's own database cannot be created: every start fails for real.
        "PREFECT_SERVER_DATABASE_CONNECTION_URL": "sqlite+aiosqlite:////proc/none/prefect.db",
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "3",
    }

    command = ["demo", "--cells", "10", "--out", str(tmp_path / "demo")]
    done = subprocess.run(
        [sys.executable, "-m", "pingan.cli.app", *command],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )

    output = done.stdout + done.stderr
    assert done.returncode == 1, output
    assert "Traceback" not in output and "RuntimeError" not in output
    assert "正在重试" in done.stdout
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("演示未能运行：临时 Prefect 服务器在 3 次尝试中")

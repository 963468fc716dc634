"""`pingan demo` end to end in a subprocess (its own Prefect server), on a small roster."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from openpyxl import load_workbook

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    out = tmp_path_factory.mktemp("demo") / "run"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "PINGAN_"))}
    env["PREFECT_HOME"] = str(out.parent / "prefect-home")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pingan.cli.app",
            "demo",
            "--cells",
            "60",
            "--seed",
            "7",
            "--out",
            str(out),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return out, proc.stdout + proc.stderr


def test_demo_prints_no_traceback_or_warning(demo: tuple[Path, str]) -> None:
    _, output = demo
    assert "Traceback" not in output
    assert "WARNING" not in output and "UserWarning" not in output
    assert "演示完成" in output


def test_demo_writes_every_output_it_names(demo: tuple[Path, str]) -> None:
    out, _ = demo
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    for key, path in summary["paths"].items():
        assert path and Path(path).exists(), key
    pdfs = list(Path(summary["paths"]["certificates"]).rglob("*.pdf"))
    assert len(pdfs) == summary["awards"] > 0
    book = load_workbook(summary["paths"]["public_list_xlsx"], read_only=True)
    assert "汇总" in book.sheetnames


def test_demo_summary_agrees_with_pingan_status(demo: tuple[Path, str]) -> None:
    out, _ = demo
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pingan.cli.app",
            "status",
            "xucheng-2017",
            "--as-of",
            "2017-11-30",
            "--json",
            "--db",
            f"sqlite:///{out / 'pingan.db'}",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    status = json.loads(proc.stdout)
    assert status["overall"] == summary["overall"]
    assert status["overall"]["awarded"] == summary["awards"]


def test_demo_messages_log_holds_every_sent_message(demo: tuple[Path, str]) -> None:
    out, _ = demo
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    lines = (out / "messages.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == sum(summary["messages_sent"].values())

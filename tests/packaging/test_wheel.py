"""The wheel, installed into a fresh virtual environment outside the checkout, runs on its
own: it validates the shipped seed campaign, walks the demo and renders messages from the
shipped templates (issue 16)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200)]


@dataclass(frozen=True)
class Installed:
    venv: Path
    work: Path  # an empty folder outside the checkout, the commands' working directory

    def run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "PINGAN_"))}
        env |= {"PINGAN_HOME": str(self.work / "home"), "PREFECT_HOME": str(self.work / "pf")}
        return subprocess.run(
            [str(self.venv / "bin" / args[0]), *args[1:]],
            cwd=self.work,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )


def _checked(result: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    return result


def _uv(*args: str, timeout: float) -> None:
    """uv from the test extra: it builds, creates the venv and installs in seconds, where
    pip took minutes (it resolves and downloads one package at a time and keeps no wheels
    between CI runs); uv downloads in parallel into its cache (~/.cache/uv), which later
    runs on the same machine install from."""
    _checked(
        subprocess.run(
            [sys.executable, "-m", "uv", *args],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    )


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Installed]:
    base = tmp_path_factory.mktemp("wheel")
    assert ROOT not in base.parents
    wheels = base / "dist"
    _uv("build", "-q", "--wheel", "--out-dir", str(wheels), str(ROOT), timeout=300)
    (wheel,) = wheels.glob("pingan-*.whl")
    venv = base / "venv"
    # A venv of the base interpreter (not of the checkout's venv), with nothing in it.
    _uv("venv", "-q", "--python", sys.executable, str(venv), timeout=120)
    # The same versions as the checkout's environment; no byte compiling of ~150 packages
    # up front (Python compiles what the commands import).
    python = str(venv / "bin" / "python")
    constraints = str(ROOT / "constraints.txt")
    _uv("pip", "install", "-q", "--python", python, "-c", constraints, str(wheel), timeout=600)
    work = base / "work"
    work.mkdir()
    yield Installed(venv, work)


def test_the_installed_package_is_the_wheel_not_the_checkout(installed: Installed) -> None:
    result = _checked(
        installed.run(
            "python",
            "-c",
            "import pingan; from pingan.adapters.shipped import shipped; "
            "print(pingan.__file__); print(shipped('templates', 'reminder.txt.j2'))",
        )
    )
    module, template = (Path(line) for line in result.stdout.split())
    for path in (module, template):
        assert installed.venv in path.parents
        assert ROOT not in path.parents
    assert template.is_file()


def test_validate_reads_the_shipped_seed_campaign(installed: Installed) -> None:
    where = _checked(
        installed.run(
            "python",
            "-c",
            "from pingan.adapters.shipped import shipped; "
            "print(shipped('campaigns', 'xucheng-2017.yaml'))",
        )
    ).stdout.strip()
    result = _checked(installed.run("pingan", "validate", where, "--json"))
    assert json.loads(result.stdout)["code"] == "xucheng-2017"


def test_demo_walks_the_seed_campaign_and_renders_its_messages(installed: Installed) -> None:
    out = installed.work / "demo"
    _checked(installed.run("pingan", "demo", "--cells", "50", "--out", str(out), timeout=900))
    messages = [
        json.loads(line)
        for line in (out / "messages.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    reminders = [m for m in messages if m["subject"].endswith("报送提醒")]
    assert reminders, "no reminder rendered from the shipped templates"
    assert "距截止还有" in reminders[0]["body"]  # config/templates/reminder.txt.j2
    assert (out / "public-list.pdf").is_file() or any((out / "output").rglob("public-list.pdf"))

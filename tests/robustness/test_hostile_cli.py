"""Hostile command lines: any list of arguments to any `pingan` command, against a loaded
temporary database, ends with exit code 0, 1, 2 or 3 — and a message when it is not 0 —
never with a traceback.

Every path the arguments can name lies under the test's own folder; commands that would run
for minutes or until stopped (NOT_FUZZED) are left out, each for a stated reason.
"""

from __future__ import annotations

import shutil
import traceback
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import typer.main
from hypothesis import HealthCheck, given
from hypothesis import strategies as st
from typer.testing import CliRunner

from pingan import root
from pingan.adapters.db.session import make_engine
from pingan.cli.app import app
from tests.factories import SEED_CODE, SEED_CONFIG, load_seed
from tests.robustness._hostile import hostile_settings, nasty_text

COMMANDS = [
    ["validate"],
    ["db", "upgrade"],
    ["load"],
    ["roster", "synth"],
    ["roster", "template"],
    ["units"],
    ["tick"],
    ["status"],
    ["collect"],
    ["waive"],
    ["dispatch"],
    ["outbox"],  # `outbox list` implied
    ["outbox", "list"],
    ["outbox", "retry"],
    ["assess", "template"],
    ["assess", "import"],
    ["acceptance", "results"],
    ["acceptance", "signoff"],
    ["award"],
    ["awards"],
    ["verify"],
    ["report"],
    ["links"],
    ["leader-link"],
    ["campaign", "init"],
    ["channels"],
]
# Commands left out, and why: each would run for minutes, wait for ever or need a server.
NOT_FUZZED = {
    "demo": "walks a whole campaign and starts Prefect (minutes)",
    "deploy": "registers deployments on a Prefect server",
    "serve": "runs the schedules until stopped",
    "portal": "serves the submission portal until stopped",
}


def _leaves(group: Any, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    # Duck-typed: typer may ship its own copy of click's classes.
    for name, command in group.commands.items():
        if hasattr(command, "commands"):
            yield from _leaves(command, (*prefix, name))
        else:
            yield (*prefix, name)


def test_every_command_is_fuzzed_or_left_out_for_a_stated_reason() -> None:
    root = typer.main.get_command(app)
    fuzzed = {tuple(c) for c in COMMANDS} - {("outbox",)}  # a group: `outbox list` implied
    left_out = {(name,) for name in NOT_FUZZED}
    assert set(_leaves(root)) == fuzzed | left_out


@dataclass
class Place:
    root: Path
    db_url: str


@pytest.fixture
def place(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Place]:
    engine = make_engine(db_url)
    load_seed(engine, tmp_path, cells=6)
    engine.dispose()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PINGAN_DATABASE_URL", db_url)
    monkeypatch.setenv("PINGAN_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("PINGAN_CHANNEL_OVERRIDE", raising=False)
    root.reset()
    (tmp_path / "inbox" / "self_check" / "SYN-C0000001").mkdir(parents=True)
    (tmp_path / "inbox" / "self_check" / "SYN-C0000001" / "报告.pdf").write_bytes(b"%PDF-1.4\n")
    shutil.copy(SEED_CONFIG, tmp_path / "campaign.yaml")
    (tmp_path / "bad.yaml").write_text("code: [", encoding="utf-8")
    (tmp_path / "scores.csv").write_text("单位编码,考核日期\nSYN-C0000001,2017-11-15\n")
    (tmp_path / "junk.xlsx").write_bytes(b"PK\x03\x04junk")
    yield Place(tmp_path, db_url)
    root.reset()


def tokens(place: Place) -> st.SearchStrategy[str]:
    root = place.root
    files = [
        "campaign.yaml",
        "bad.yaml",
        "roster.csv",
        "scores.csv",
        "junk.xlsx",
        "missing.csv",
        str(root / "inbox"),
        str(root / "out" / "评分表.xlsx"),
        str(root / "roster.csv" / "x.csv"),
        "inbox/self_check",
    ]
    options = [
        "--as-of", "--db", "--json", "--limit", "--state", "--dead", "--gate", "--unit",
        "--reason", "--reopen", "--out", "--roster", "--skip-invalid", "--manifest",
        "--inbox", "--domain", "--wait", "--actor", "--dry-run", "--ignore-quiet-hours",
        "--cells", "--seed", "--withdrawn", "--help", "--code", "--organisation",
        "--domains", "--starts-on", "--ends-on", "--coverage", "--force", "--days", "--name",
    ]  # fmt: skip
    return st.one_of(
        st.sampled_from(options),
        st.sampled_from(files),
        st.sampled_from([SEED_CODE, "self-check", "domain-plan", "SYN-C0000001", "jdjb"]),
        st.sampled_from(["2017-05-22", "2017-11-30", "2017-02-30", "0001-01-01", "9999-12-31"]),
        st.sampled_from(["0", "1", "-1", "5", str(2**64), "1e3", "nan", "٣", "dead", "sent"]),
        st.sampled_from(["sqlite:///" + str(root / "other.db"), "mysql://x", "postgresql://"]),
        st.sampled_from(["foo://bar", "memory://pingan-cli", "postgresql://nobody@127.0.0.1:1/x"]),
        # argv cannot hold a NUL; and no path outside the test's folder, ever.
        nasty_text.filter(lambda t: "\x00" not in t and not t.startswith("/") and ".." not in t),
    )


@hostile_settings(40, HealthCheck.function_scoped_fixture)
@given(data=st.data())
def test_any_command_line_ends_in_a_known_exit_code_with_a_message(
    place: Place, data: st.DataObject
) -> None:
    command = data.draw(st.sampled_from(COMMANDS))
    args = data.draw(st.lists(tokens(place), max_size=6))
    result = CliRunner().invoke(app, [*command, *args], catch_exceptions=True)
    shown = f"pingan {' '.join(command + args)!r}\n{result.output}"
    crashed = result.exception is not None and not isinstance(result.exception, SystemExit)
    assert not crashed, shown + "".join(traceback.format_exception(result.exception))
    assert result.exit_code in (0, 1, 2, 3), shown
    assert "Traceback" not in result.output, shown
    if result.exit_code != 0:
        assert result.output.strip(), shown


def test_demo_shows_its_help_and_refuses_too_few_cells(place: Place) -> None:
    assert CliRunner().invoke(app, ["demo", "--help"]).exit_code == 0
    assert CliRunner().invoke(app, ["demo", "--cells", "1"]).exit_code == 2


# --- cases the property found -----------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["outbox", SEED_CODE, "--limit", str(2**64)],
        ["outbox", "retry", SEED_CODE, str(2**64)],
        ["outbox", "retry", SEED_CODE, "٣"],
        ["units", "\udcff"],  # a byte that is not UTF-8, as a GBK terminal sends it
        ["collect", SEED_CODE, "--inbox", "foo://bar"],
        ["collect", SEED_CODE, "--inbox", "ftp://127.0.0.1:1/inbox"],
        ["assess", "template", SEED_CODE, "--out", "campaign.yaml/评分表.xlsx"],
        ["roster", "synth", "campaign.yaml", "--cells", "5", "--out", "campaign.yaml/r.csv"],
        ["load", "campaign.yaml", "--actor", "人" * 101],
        [
            "waive",
            SEED_CODE,
            "--gate",
            "self-check",
            "--unit",
            "SYN-C0000001",
            "--reason",
            "理" * 501,
        ],
    ],
    ids=[
        "outbox-limit",
        "retry-huge-id",
        "retry-arabic-digit",
        "undecodable-argument",
        "unknown-protocol",
        "unreachable-inbox",
        "template-under-a-file",
        "synth-under-a-file",
        "long-actor",
        "long-reason",
    ],
)
def test_command_lines_that_once_raised_now_exit_with_a_message(
    place: Place, args: list[str]
) -> None:
    result = CliRunner().invoke(app, args, catch_exceptions=True)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert result.exit_code == 2, result.output
    assert result.output.strip()

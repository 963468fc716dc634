"""The command line's own words are Chinese: every command's help (found by walking the
click command tree, so a new command is checked without being listed here), its usage
errors, `--version` and shell completion (issue 16)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
import typer.main
from typer.core import TyperArgument, TyperOption
from typer.testing import CliRunner

from pingan.cli.app import PANELS, app

# What typer and its vendored click print in English when left alone.
ENGLISH_CHROME = [
    "Usage",
    "Options",
    "Arguments",
    "Commands",
    "required",
    "default:",
    "env var",
    "Show this message",
    "for help",
    "Try ",
    "Install completion",
    "Show completion",
    "deprecated",
    "Error",
    "Missing",
    "COMMAND",
    "[ARGS]",
    "[OPTIONS]",
    "<str>",
    "<int>",
    "<float>",
    "<bool>",
    "<path>",
    "list[",
    "x>=",
    "<=x",
]
CJK = re.compile(r"[\u4e00-\u9fff]")
runner = CliRunner()


def _paths(command: Any, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    yield prefix
    for name, child in getattr(command, "commands", {}).items():
        yield from _paths(child, (*prefix, name))


def _commands(command: Any, prefix: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    yield prefix, command
    for name, child in getattr(command, "commands", {}).items():
        yield from _commands(child, (*prefix, name))


ROOT = typer.main.get_command(app)
PATHS = list(_paths(ROOT))


def _help(path: tuple[str, ...]) -> str:
    result = runner.invoke(app, [*path, "--help"], prog_name="pingan", env={"COLUMNS": "100"})
    assert result.exit_code == 0, result.output
    return result.stdout


def test_the_walk_finds_every_command_and_subcommand() -> None:
    assert ("outbox", "retry") in PATHS and ("assess", "import") in PATHS
    assert len(PATHS) > 30


@pytest.mark.parametrize("path", PATHS, ids=lambda p: " ".join(p) or "pingan")
def test_help_has_no_english_chrome(path: tuple[str, ...]) -> None:
    text = _help(path)
    found = [word for word in ENGLISH_CHROME if word in text]
    assert not found, f"pingan {' '.join(path)} --help: {found}\n{text}"
    usage = next(line for line in text.splitlines() if line.strip())
    assert usage.strip().startswith("用法：pingan")
    titles = re.findall(r"╭─ (.+?) ─", text)
    assert titles and all(CJK.search(t) for t in titles), titles


def test_every_value_has_a_readable_metavar(capsys: pytest.CaptureFixture[str]) -> None:
    """Each option or argument that takes a value names it in Chinese (or as a date format);
    flags show none."""
    with pytest.raises(SystemExit):  # localises the tree, as every run does
        ROOT.main(["--help"], prog_name="pingan")
    unreadable = []
    for path, command in _commands(ROOT):
        for param in command.params:
            if not isinstance(param, TyperOption | TyperArgument):
                continue
            metavar = param.metavar
            if isinstance(param, TyperOption) and param.is_flag:
                ok = metavar == ""
            else:
                ok = bool(metavar) and (CJK.search(metavar) or metavar == "YYYY-MM-DD")
            if not ok:
                unreadable.append((" ".join(path), param.name, metavar))
    assert not unreadable


def test_top_level_commands_are_grouped_in_the_five_panels() -> None:
    text = _help(())
    titles = re.findall(r"╭─ (.+?) ─", text)
    assert titles == ["选项", "日常", "验收", "命名", "部署", "门户"]
    assert set(ROOT.commands) == set(PANELS), "add each new top-level command to app.PANELS"


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["units"], "错误：缺少参数 活动编码。"),
        (["waive", "x", "--unit", "a", "--reason", "r"], "错误：缺少选项 --gate。"),
        (["units", "x", "--lim", "3"], "错误：没有选项 --lim。您是否要找 --limit？"),
        (["units", "x", "--limit", "abc"], "错误：--limit 的取值无效：应为整数。"),
        (["units", "x", "--limit", "0"], "错误：--limit 的取值无效：应不小于 1。"),
        (["units", "x", "--limit"], "错误：选项 --limit 需要一个值。"),
        (["units", "a", "b"], "错误：多余的参数：b"),
        (["unitz"], "错误：没有命令 unitz。您是否要找 units？"),
    ],
)
def test_usage_errors_are_chinese_with_exit_code_2(args: list[str], expected: str) -> None:
    result = runner.invoke(app, args, prog_name="pingan")
    assert result.exit_code == 2
    assert expected in result.stderr, result.stderr
    assert not [word for word in ENGLISH_CHROME if word in result.stderr], result.stderr


def test_a_usage_error_shows_the_usage_line_and_where_help_is() -> None:
    result = runner.invoke(app, ["units"], prog_name="pingan")
    assert result.stderr.splitlines() == [
        "用法：pingan units [选项] 活动编码",
        "运行 pingan units --help 查看帮助。",
        "错误：缺少参数 活动编码。",
    ]


def test_version_prints_the_installed_version() -> None:
    from importlib.metadata import version

    result = runner.invoke(app, ["--version"], prog_name="pingan")
    assert result.exit_code == 0
    assert result.stdout.strip() == f"pingan {version('pingan')}"


def test_shell_completion_completes_commands_and_subcommands() -> None:
    def complete(words: str) -> str:
        env = {
            "_PINGAN_COMPLETE": "complete_bash",
            "COMP_WORDS": words,
            "COMP_CWORD": str(len(words.split()) - 1),
        }
        result = runner.invoke(app, [], prog_name="pingan", env=env)
        assert result.exit_code == 0, result.output
        return result.stdout

    assert complete("pingan ti").split() == ["tick"]
    assert complete("pingan outbox re").split() == ["retry"]


def test_outbox_retry_is_a_subcommand_with_its_own_help() -> None:
    text = _help(("outbox", "retry"))
    assert "用法：pingan outbox retry [选项] 活动编码 [投递编号…]" in text
    assert "--dead" in text and "--state" not in text


def test_a_click_message_no_rule_knows_is_kept_and_marked_not_dropped() -> None:
    from pingan.cli.usage_errors import text_in_chinese

    assert text_in_chinese("Something new.") == "命令行有误（Something new.）"
    assert text_in_chinese("请给出创建活动编码") == "请给出创建活动编码"


def test_plain_help_without_rich_has_chinese_headings() -> None:
    from pingan.cli.chrome import ChineseFormatter

    formatter = ChineseFormatter()
    for heading in ("Arguments", "Options", "Commands"):
        formatter.write_heading(heading)
    assert formatter.getvalue() == "参数：\n选项：\n命令：\n"

"""The command line's own words in Chinese: usage lines, panel titles, metavars, the help
option, shell-completion options and click's usage errors.

Typer renders help through ``typer.rich_utils`` (its panel titles and markers are module
constants, set here once) and parses through its vendored click, whose English is plain
string literals (no gettext catalog to translate). So the whole command tree is localised
when it runs: ``ChineseGroup`` is the root group's class; on each run it walks every command
under it (whoever registered them) and gives each a Chinese context, usage metavars and
readable value metavars, and it prints usage errors itself (pingan.cli.usage_errors).
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from typing import Any

import typer
from rich.console import Console
from typer import rich_utils
from typer._click.core import Command, Context
from typer._click.exceptions import ClickException, NoArgsIsHelpError
from typer._click.formatting import HelpFormatter
from typer.core import TyperArgument, TyperGroup, TyperOption
from typer.exceptions import Abort

from pingan.cli.usage_errors import chinese_message

USAGE_PREFIX = "用法："
OPTIONS_METAVAR = "[选项]"
SUBCOMMAND_METAVAR = "命令 [参数]…"
HELP_OPTION_HELP = "显示本帮助并退出。"
ABORTED = "已中止。"

# typer.rich_utils reads these module constants each time it renders help.
rich_utils.DEPRECATED_STRING = "（已停用）"
rich_utils.DEFAULT_STRING = "[默认：{}]"
rich_utils.ENVVAR_STRING = "[环境变量：{}]"
rich_utils.REQUIRED_LONG_STRING = "[必填]"
rich_utils.ARGUMENTS_PANEL_TITLE = "参数"
rich_utils.OPTIONS_PANEL_TITLE = "选项"
rich_utils.COMMANDS_PANEL_TITLE = "命令"
rich_utils.ERRORS_PANEL_TITLE = "错误"
rich_utils.ABORTED_TEXT = ABORTED
rich_utils.RICH_HELP = "运行 [blue]{command_path} {help_option}[/] 查看帮助。"

# Headings of click's plain (non-rich) help, used when TYPER_USE_RICH=0.
_HEADINGS = {"Arguments": "参数", "Options": "选项", "Commands": "命令"}

# A value's metavar by the type typer would print (`<str>`, `<list[str]>` …) when the
# option names none of its own.
_TYPE_METAVARS = {
    "str": "文本",
    "int": "整数",
    "int range": "整数",
    "float": "数值",
    "float range": "数值",
    "path": "路径",
    "file": "文件",
    "directory": "目录",
    "bool": "是|否",
}

# Typer's own options on the root command (shell completion).
_OWN_OPTION_HELP = {
    "--install-completion": "为当前 shell 安装命令补全（重开终端后生效）。",
    "--show-completion": "显示当前 shell 的命令补全脚本，便于复制或自行安装。",
}


class ChineseFormatter(HelpFormatter):
    """click's help formatter with a Chinese usage prefix and headings."""

    def write_usage(self, prog: str, args: str = "", prefix: str | None = None) -> None:
        super().write_usage(prog, args, USAGE_PREFIX if prefix is None else prefix)

    def write_heading(self, heading: str) -> None:
        self.write(f"{'':>{self.current_indent}}{_HEADINGS.get(heading, heading)}：\n")


class ChineseContext(Context):
    """A context whose usage lines and help option speak Chinese."""

    formatter_class = ChineseFormatter

    def __init__(self, command: Command, *args: Any, **kwargs: Any) -> None:
        super().__init__(command, *args, **kwargs)
        help_option = command.get_help_option(self)
        if help_option is not None:
            help_option.help = HELP_OPTION_HELP
            help_option.metavar = ""


def value_metavar(param: TyperOption | TyperArgument, ctx: Context) -> str:
    """A readable Chinese metavar for a value whose option did not name one."""
    label = param.display_type(ctx).strip("<>")
    repeated = label.startswith("list[")
    label = label.removeprefix("list[").removesuffix("]")
    if "|" in label:  # a choice: its values are what the user types
        return label
    word = _TYPE_METAVARS.get(label, "值")
    # A repeatable option says so; an argument's usage adds the ellipsis itself.
    return f"{word}…" if repeated and isinstance(param, TyperOption) else word


class ChineseArgument(TyperArgument):
    """A positional argument shown by its (Chinese) metavar alone: in the usage line plain
    when required and in brackets when optional, and without typer's `<str>` type column."""

    def display_type_rich(self, ctx: Context) -> str | None:
        return None

    def _usage_display_name(self) -> str:
        name = self.display_name_raw + ("…" if self.nargs != 1 else "")
        return name if self.required else f"[{name}]"


class ChineseOption(TyperOption):
    """An option whose number range reads in Chinese (“1 至 65535”, “不小于 1”)."""

    def _get_number_range_help_str(self) -> str | None:
        low, high = getattr(self, "min", None), getattr(self, "max", None)
        if low is not None and high is not None:
            return f"{low} 至 {high}"
        if low is not None:
            return f"不小于 {low}"
        if high is not None:
            return f"不大于 {high}"
        return None


def localise(command: Command, ctx: Context) -> None:
    """Give ``command`` and every command under it Chinese usage and metavars."""
    command.context_class = ChineseContext
    if command.options_metavar:
        command.options_metavar = OPTIONS_METAVAR
    if isinstance(command, TyperGroup):
        command.subcommand_metavar = SUBCOMMAND_METAVAR
    for param in command.params:
        if isinstance(param, TyperOption) and param.opts[0] in _OWN_OPTION_HELP:
            param.help = _OWN_OPTION_HELP[param.opts[0]]
        # Same fields, only their display differs.
        if type(param) is TyperArgument:
            param.__class__ = ChineseArgument
        elif type(param) is TyperOption:
            param.__class__ = ChineseOption
        if isinstance(param, TyperOption | TyperArgument) and param.metavar is None:
            flag = isinstance(param, TyperOption) and param.is_flag
            param.metavar = "" if flag else value_metavar(param, ctx)
    for child in getattr(command, "commands", {}).values():
        localise(child, ctx)


class ChineseGroup(TyperGroup):
    """The root group: localises the tree under it and reports usage errors in Chinese."""

    # Top-level commands by help panel, in the order `pingan --help` shows them; set by the
    # application (pingan.cli.app) before the tree is built.
    panels: Mapping[str, str] = {}
    panel_order: Sequence[str] = ()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name, command in self.commands.items():
            panel = self.panels.get(name)
            if panel is not None:
                command.rich_help_panel = panel  # type: ignore[attr-defined]
        # Help lists the panels in the order their first command comes.
        rank = {panel: i for i, panel in enumerate(self.panel_order)}
        order = sorted(self.commands, key=lambda n: rank.get(self.panels.get(n, ""), len(rank)))
        self.commands = {name: self.commands[name] for name in order}

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        windows_expand_args: bool = True,
        **extra: Any,
    ) -> Any:
        # Here rather than in __init__: typer adds its completion options after building us.
        localise(self, Context(self, info_name=self.name))  # the context only names types
        run = super().main
        if not standalone_mode:
            return run(args, prog_name, complete_var, False, windows_expand_args, **extra)
        try:
            code = run(args, prog_name, complete_var, False, windows_expand_args, **extra)
        except NoArgsIsHelpError as exc:  # the help has been printed
            sys.exit(exc.exit_code)
        except ClickException as exc:
            _report(exc)
            sys.exit(exc.exit_code)
        except Abort:
            Console(stderr=True, highlight=False).print(ABORTED, markup=False)
            sys.exit(1)
        sys.exit(code if isinstance(code, int) else 0)


def _report(exc: ClickException) -> None:
    """Usage line, a pointer to the help and the error, on stderr."""
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    ctx: Context | None = getattr(exc, "ctx", None)
    if ctx is not None:
        err.print(ctx.get_usage(), markup=False)
        if ctx.command.get_help_option(ctx) is not None:
            hint = f"{ctx.command_path} {ctx.help_option_names[0]}"
            err.print(f"运行 {hint} 查看帮助。", markup=False)
    err.print(f"错误：{chinese_message(exc)}", markup=False)


def version_callback(value: bool) -> None:
    """``--version``: the installed distribution's version."""
    if value:
        from importlib.metadata import PackageNotFoundError, version

        try:
            number = version("pingan")
        except PackageNotFoundError:
            number = "未安装（源码运行）"
        typer.echo(f"pingan {number}")
        raise typer.Exit()
